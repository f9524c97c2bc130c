"""Bulk import into the gazetteer: :meth:`ImportMixin.plan_import` works out what a table would change
(without changing anything), :meth:`ImportMixin.apply_import` writes the accepted rows as one change."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from geoplan.gazetteer.lazy_pandas import pd

from geoplan.errors import GeoplanError
from geoplan.gazetteer import edits, import_rows, naming
from geoplan.gazetteer.records import (COLUMNS, _EDITABLE_SET, GazetteerError, RecordError, _blank, _clean,
                                       _decode, _diff, _dump, _encode, _former_start, _year, check_date,
                                       parent_problem, today)
from geoplan.i18n import _


#: The columns :func:`naming.check_frame` reads (and ``status``, to pass it only current names).
_CHECKED = ("name_id", "name", "generic", "category", "parent_code", "pinyin_key", "geometry", "former_names",
            "status")


class ImportMixin:
    """Bulk import of :class:`geoplan.gazetteer.store.Gazetteer`: :meth:`plan_import`, :meth:`apply_import`."""

    def plan_import(self, df: pd.DataFrame, labels: list[str], file: str, *, date: str | None = None,
                    force: bool = False, progress=None) -> "ImportPlan":
        """Work out what importing a table would do, without changing anything.

        ``df`` has the gazetteer's column names (already mapped). Rows with an
        existing ``name_id`` update that record (a new name becomes a rename);
        others are added. Rows with bad values or breaking a naming rule
        (errors, unless ``force``) are rejected with the reason. ``progress``,
        if given, is called with the number of rows done every 5,000 rows.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> from geoplan.gazetteer.store import Gazetteer
        >>> g = Gazetteer(pathlib.Path(tempfile.mkdtemp()) / "g.sqlite", create=True)
        >>> import pandas as pd
        >>> df = pd.DataFrame({"name_id": ["V1", "V2", "V3"], "name": ["南岩村", "南岩村", "下垟村"],
        ...                    "category": "1220", "parent_code": "330624104"}, dtype=object)
        >>> plan = g.plan_import(df, ["row 2", "row 3", "row 4"], "villages.csv")
        >>> plan.added, plan.rejected_frame()["row"].tolist(), g.count()  # a duplicate name is refused
        (1, ['row 2', 'row 3'], 0)
        >>> g.close()
        """
        with import_rows.gc_paused():
            return self._plan_import(df, labels, file, date, force, progress)

    def _plan_import(self, df, labels, file, date, force, progress) -> "ImportPlan":
        date = check_date(date, "date") or today()
        existing = {}
        if "name_id" in df and df["name_id"].notna().any():
            ids = [str(i) for i in df["name_id"].dropna().unique()]
            for row in self._rows_with_ids(f"SELECT {', '.join(COLUMNS)} FROM names", ids):
                rec = _decode(row)
                existing[rec["name_id"]] = rec
        plan = ImportPlan(file=file)
        seen: set[str] = set()
        derived: dict = {}
        cols = import_rows.table_columns(df)
        if cols is None:
            rows, rids, fast = df.to_dict("records"), None, [None] * len(df)
        else:
            # The simple new rows are built column by column; the rest (and any refusal) go through
            # make_record below, one by one.
            rows = None
            rids, fast = import_rows.new_records(self, cols, existing, derived)
        for k, label in zip(range(len(df)), labels):
            if progress is not None and k % 5000 == 0 and k:
                progress(k)
            rec = fast[k]
            if rec is not None and (rids[k] is None or rids[k] not in seen):
                rid = rids[k]
                rec["name_id"] = rid or f"({label})"
                if rid:
                    seen.add(rid)
                plan.items.append((label, None, rec))
                continue
            row = rows[k] if rows is not None else {c: col[k] for c, col in cols.items()}
            try:
                rid = _clean(row.get("name_id")) or None
                if rid is not None and rid in seen:
                    raise RecordError(_("ID {id} appears more than once in the file").format(id=rid))
                old = existing.get(rid) if rid else None
                base = dict(old) if old else {}
                values = {k: v for k, v in row.items() if k in _EDITABLE_SET and not _blank(v)}
                if "sources" in values and isinstance(values["sources"], str):
                    values["sources"] = [s.strip() for s in values["sources"].split(";") if s.strip()]
                if "heritage_year" in values:
                    values["heritage_year"] = _year(values["heritage_year"])
                if old and "name" in values and _clean(values["name"]) != old["name"]:
                    base["former_names"] = old["former_names"] + [
                        {"name": old["name"], "from": _former_start(old), "to": date}]
                merged = {**base, **values}
                # The whole of ``merged`` as the fields: name, category and parent code are set from the
                # arguments after the fields, as make_record does.
                rec = self._make_record(merged.get("name"), merged.get("category"), merged.get("parent_code"),
                                        merged, derived)
                rec["name_id"] = rid or f"({label})"
            except GeoplanError as exc:
                plan.rejected.append((label, row, str(exc)))
                continue
            if rid:
                seen.add(rid)
            if old is not None and old == rec:
                plan.unchanged += 1
                continue
            plan.items.append((label, old, rec))
        self._check_import_parents(plan)
        if plan.items:
            recs = [r for _, _, r in plan.items]
            report = self._check_bulk(recs)
            bad = report[report["severity"] == "error"] if not force else report.iloc[0:0]
            if not bad.empty:
                why = (bad["rule"] + " " + bad["message"]).groupby(bad["name_id"]).agg(lambda m: "; ".join(m))
                why = why.to_dict()  # a dict look-up per row, not a pandas one
                keep = []
                for label, old, rec in plan.items:
                    if rec["name_id"] in why:
                        plan.rejected.append((label, {"name_id": rec["name_id"], "name": rec["name"]},
                                              "naming rule " + why[rec["name_id"]]))
                    else:
                        keep.append((label, old, rec))
                plan.items = keep
            plan.warnings = report[report["severity"] == "warning"].reset_index(drop=True)
        return plan

    def _check_import_parents(self, plan: "ImportPlan") -> None:
        """Reject rows whose parent is neither an official code nor a record, and rows in a parent cycle."""
        if not plan.items:
            return
        in_file = {rec["name_id"]: rec.get("parent_code") for _, _, rec in plan.items
                   if not rec["name_id"].startswith("(")}
        # Every stored parent the checks below can ask about, read in a few batched queries instead of one
        # query per parent (41k townships under a national village list: the bulk of PostgreSQL's check time).
        db_parent = self._stored_parents({rec.get("parent_code") for _, _, rec in plan.items} - in_file.keys(),
                                         in_file)

        def stored_parent(code):
            # None: no such record; "": a record without a parent.
            if code not in db_parent:
                row = self.conn.execute("SELECT parent_code FROM names WHERE name_id = ?", (code,)).fetchone()
                db_parent[code] = None if row is None else (row[0] or "")
            return db_parent[code]

        def known(code):
            return code in in_file or stored_parent(code) is not None

        def parent_of(code):
            return in_file[code] if code in in_file else stored_parent(code)

        problems: dict = {}  # parent code → parent_problem, asked once per distinct parent
        walks: dict = {}

        def walk(code):
            # The walk up from ``code`` (at most 60 steps): the step at which it reaches each code, and the
            # step and code where it first comes back to a code it passed (None: no cycle of its own). The
            # walk does not depend on the record, so thousands of records under one parent share it.
            if code not in walks:
                steps, up, back = {}, code, None
                for step in range(60):
                    if not up:
                        break
                    if up in steps:
                        back = (step, up)
                        break
                    steps[up] = step
                    up = parent_of(up) if (up in in_file or stored_parent(up)) else None
                walks[code] = (steps, back)
            return walks[code]

        keep = []
        for label, old, rec in plan.items:
            code = rec.get("parent_code")
            why = None
            if code and (old is None or old.get("parent_code") != code):
                if code not in problems:
                    problems[code] = parent_problem(code, known)
                why = problems[code]
            nid = rec["name_id"]
            if why is None and code and not nid.startswith("("):
                # A record in its own chain of parents, or a chain that loops above it.
                steps, back = walk(code)
                up = nid if nid in steps else back[1] if back else None
                if up is not None:
                    why = _("parent cycle: the parent {code} of {name} ({id}) leads back to {back} through "
                            "its own parents (A under B, B under A). Check the parent codes.").format(
                        code=code, name=rec['name'], id=nid, back=up)
            if why:
                plan.rejected.append((label, {"name_id": None if nid.startswith("(") else nid, "name": rec["name"]},
                                      why))
            else:
                keep.append((label, old, rec))
        plan.items = keep

    def _rows_with_ids(self, select: str, ids: list[str]):
        """The rows of ``select`` (``SELECT … FROM names``) whose ``name_id`` is one of ``ids``.

        SQLite: 900 parameters per query (its limit). PostgreSQL: one array
        parameter per 50,000 IDs — a statement with 900 placeholders costs
        psycopg more to prepare than the server needs to answer it. A table
        with no more rows than ``ids`` (a national list into a new or a
        county gazetteer) is read whole instead: one scan, not a look-up
        per ID. ``select`` names ``name_id`` first.
        """
        if len(ids) > 10_000 and self._at_most("names", len(ids)):
            wanted = set(ids)
            yield from (row for row in self.conn.execute(select).fetchall() if row[0] in wanted)
            return
        if self.backend == "postgresql":
            for k in range(0, len(ids), 50_000):
                yield from self.conn.execute(f"{select} WHERE name_id = ANY(?)", (list(ids[k:k + 50_000]),)).fetchall()
            return
        for k in range(0, len(ids), 900):
            chunk = ids[k:k + 900]
            yield from self.conn.execute(f"{select} WHERE name_id IN ({', '.join('?' * len(chunk))})", chunk)

    def _stored_parents(self, codes, in_file) -> dict[str, object]:
        """``code → parent_code`` of the records ``codes`` name and of their stored ancestors, level by level.

        None for a code with no record, "" for a record without a parent, as
        :meth:`_check_import_parents` reads them; the walk stops at codes
        ``in_file`` (their parents are the file's).
        """
        found: dict[str, object] = {}
        todo = sorted(c for c in codes if c)
        for _level in range(60):
            if not todo:
                break
            got = {}
            got.update(self._rows_with_ids("SELECT name_id, parent_code FROM names", todo))
            for code in todo:
                found[code] = (got[code] or "") if code in got else None
            todo = sorted({p for p in got.values() if p and p not in found and p not in in_file})
        return found

    def _check_bulk(self, recs: list[dict]) -> pd.DataFrame:
        ids = {r["name_id"] for r in recs}
        current = self.frame()
        current = current.loc[~current["name_id"].isin(ids), list(_CHECKED)]
        # Only the columns the rules read, column by column: much quicker than a frame of 600k dicts.
        new = pd.DataFrame({c: pd.Series([r[c] for r in recs], dtype=object) for c in _CHECKED})
        table = pd.concat([current, new], ignore_index=True) if not current.empty else new
        return naming.check_frame(table[table["status"] == "current"], self.config, only_ids=ids)

    def apply_import(self, plan: "ImportPlan", *, who=None, why=None, progress=None) -> int | None:
        """Write the accepted rows of an import plan in one transaction (one change).

        ``progress``, if given, is called with the number of rows written after
        every batch of 5,000 rows.

        Returns
        -------
        int or None
            The change ID, or None if there was nothing to do.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> from geoplan.gazetteer.store import Gazetteer
        >>> g = Gazetteer(pathlib.Path(tempfile.mkdtemp()) / "g.sqlite", create=True)
        >>> import pandas as pd
        >>> df = pd.DataFrame({"name": ["南岩村", "下垟村"], "category": "1220", "parent_code": "330624104"},
        ...                   dtype=object)
        >>> g.apply_import(g.plan_import(df, ["row 2", "row 3"], "villages.csv"), who="甲")
        1
        >>> g.count(), g.changes()["summary"].tolist()
        (2, ['import 2 name(s) from villages.csv'])
        >>> g.close()
        """
        if not plan.items:
            return None
        with import_rows.gc_paused():
            return self._apply_import(plan, who, why, progress)

    def _apply_import(self, plan, who, why, progress) -> int:
        with self._change("import", f"import {len(plan.items)} name(s) from {Path(plan.file).name}", who, why) as tx:
            given = [rec["name_id"] for _, _, rec in plan.items if not rec["name_id"].startswith("(")]
            now: dict[str, str] = {}
            for row in self._rows_with_ids(f"SELECT {', '.join(COLUMNS)} FROM names", given):
                now[row[0]] = _dump(_decode(row))
            new_ids = iter(self._new_ids(sum(1 for _, _, rec in plan.items if rec["name_id"].startswith("(")),
                                         exclude=set(given)))
            names_rows, item_rows, fresh = [], [], []
            for label, old, rec in plan.items:
                before = _dump(old)
                if rec["name_id"].startswith("("):
                    rec["name_id"] = next(new_ids)
                elif now.get(rec["name_id"]) != before:
                    raise GazetteerError(_("{id} ({name}) was changed by someone else while the import was "
                                           "prepared; run the import again.").format(id=rec['name_id'], name=label))
                names_rows.append(_encode(rec))
                fresh.append(old is None)
                tx.seq += 1
                item_rows.append((tx.change_id, tx.seq, rec["name_id"], before, _dump(rec)))
            rebuild = self._drop_indexes_for(len(names_rows))
            values = f"names ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
            for k in range(0, len(names_rows), 5000):
                # A new record is a plain insert (PostgreSQL: COPY straight into the table): its ID was free
                # when the plan was made and, checked above under the write lock, still is.
                part = range(k, min(k + 5000, len(names_rows)))
                for new, sql in ((True, f"INSERT INTO {values}"), (False, f"INSERT OR REPLACE INTO {values}")):
                    rows = [names_rows[j] for j in part if fresh[j] is new]
                    if rows:
                        self.conn.executemany(sql, rows)
                self.conn.executemany("INSERT INTO change_items VALUES (?,?,?,?,?)", item_rows[k:k + 5000])
                edits._test_pause("import", k + len(names_rows[k:k + 5000]))
                if progress is not None:
                    progress(k + len(names_rows[k:k + 5000]))
            for create in rebuild:
                self.conn.execute(create)
            return tx.change_id


@dataclass
class ImportPlan:
    """What an import would do: records to add or update, rejected rows with reasons.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from geoplan.gazetteer.store import Gazetteer
    >>> g = Gazetteer(pathlib.Path(tempfile.mkdtemp()) / "g.sqlite", create=True)
    >>> import pandas as pd
    >>> _ = g.add("下垟村", "1220", "330624104", name_id="V1")
    >>> df = pd.DataFrame({"name_id": ["V1", None], "name": ["上垟村", "南岩村"], "category": "1220",
    ...                    "parent_code": "330624104"}, dtype=object)
    >>> plan = g.plan_import(df, ["row 2", "row 3"], "villages.csv")
    >>> plan.added, plan.updated, plan.changes_frame()["action"].tolist()
    (1, 1, ['update', 'add'])
    >>> "名称: 下垟村 → 上垟村" in plan.changes_frame()["fields"].iloc[0]  # the update becomes a rename
    True
    >>> g.close()
    """

    file: str
    items: list = None
    rejected: list = None
    unchanged: int = 0
    warnings: pd.DataFrame = None

    def __post_init__(self):
        self.items = [] if self.items is None else self.items
        self.rejected = [] if self.rejected is None else self.rejected
        if self.warnings is None:
            self.warnings = pd.DataFrame(columns=naming.REPORT_COLUMNS)

    @property
    def added(self) -> int:
        return sum(1 for _, old, _ in self.items if old is None)

    @property
    def updated(self) -> int:
        return sum(1 for _, old, _ in self.items if old is not None)

    def rejected_frame(self) -> pd.DataFrame:
        """Rejected rows: where in the file, the ID and name given, and why."""
        return pd.DataFrame([{"row": lab, "name_id": _clean(r.get("name_id")), "name": _clean(r.get("name")),
                              "reason": why} for lab, r, why in self.rejected],
                            columns=["row", "name_id", "name", "reason"])

    def changes_frame(self) -> pd.DataFrame:
        """Accepted rows: add or update, and which fields change."""
        return pd.DataFrame([{"row": lab, "action": "add" if old is None else "update",
                              "name_id": "" if rec["name_id"].startswith("(") else rec["name_id"],
                              "name": rec["name"], "fields": "" if old is None else _diff(old, rec)}
                             for lab, old, rec in self.items], columns=["row", "action", "name_id", "name", "fields"])
