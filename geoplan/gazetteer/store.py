"""The place-name gazetteer (地名库): an embedded SQLite store with full history.

One file holds every standard name of a county with its 专名/通名, category,
parent administrative unit, geometry (WKT, CGCS2000 longitude/latitude),
romanisation, validity dates, former names, origin and meaning, heritage
listing and sources. Every change is one SQLite transaction that also appends
to the change log (who, when, why, each record before and after); the log
cannot be edited (triggers refuse UPDATE and DELETE), and :meth:`Gazetteer.revert`
undoes a change by writing a new one.

Concurrency: the database runs in WAL mode and every write starts with
``BEGIN IMMEDIATE`` under a busy timeout, so two processes writing at once
queue up instead of failing or losing a change. A process killed in the
middle of a write leaves the database as it was (SQLite rolls the open
transaction back on the next open).

The default path is ``--db``, else the environment variable
``GEOPLAN_GAZETTEER``, else ``./gazetteer.sqlite``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from geoplan.gazetteer import naming
from geoplan.gazetteer import pg
from geoplan.gazetteer import romanize
from geoplan.gazetteer.checks import ChecksMixin
from geoplan.gazetteer.history import HistoryMixin, _as_of_view
from geoplan.gazetteer.schema import _DDL, _check_is_gazetteer
from geoplan.gazetteer.records import (BUSY_TIMEOUT_S, COLUMNS, DEFAULT_PATH, EDITABLE, ENV_VAR,  # noqa: F401
                                       HERITAGE_LEVELS, JSON_COLUMNS, SCHEMA_VERSION, STATUSES, GazetteerError,
                                       NameNotFoundError, RecordError, category_from_code, check_date, check_geometry,
                                       default_path, now_text, parent_problem, split_committee, today,
                                       township_category, village_category)
from geoplan.gazetteer.records import (_COLUMN_SET, _EDITABLE_SET, _JSON_POS, _LIST_JSON, _RECORD_JSON,  # noqa: F401
                                       _blank, _cell, _check_heritage, _clean, _decode, _diff, _dump, _encode,
                                       _former_start, _load, _os_user, _year)
from geoplan.gazetteer.search import SearchIndex, _postings  # noqa: F401
from geoplan.gazetteer.transfer import (IMPORT_FIELDS, ImportMixin, ImportPlan, export,  # noqa: F401
                                        copy_gazetteer, read_import_table, seed_from_county)

#: Secondary indexes of ``names``; a bulk import into a (nearly) empty
#: table drops and rebuilds them inside its transaction.
_NAMES_INDEXES = {"names_name": "name", "names_pinyin": "pinyin_key", "names_parent": "parent_code"}


class ConflictError(GazetteerError):
    """A clerk's change touches a record another clerk changed after it was read; nothing was saved."""


@dataclass
class _Txn:
    conn: sqlite3.Connection
    change_id: int
    seq: int = 0

    def log(self, name_id: str, before: dict | None, after: dict | None) -> None:
        self.seq += 1
        self.conn.execute("INSERT INTO change_items VALUES (?,?,?,?,?)",
                          (self.change_id, self.seq, name_id, _dump(before), _dump(after)))


def _test_pause(point: str, count: int) -> None:
    """Stop here for a kill test: env GEOPLAN_GAZ_PAUSE=point:count, marker file in GEOPLAN_GAZ_PAUSE_MARKER."""
    spec = os.environ.get("GEOPLAN_GAZ_PAUSE")
    if spec and spec == f"{point}:{count}":
        Path(os.environ["GEOPLAN_GAZ_PAUSE_MARKER"]).write_text("paused")
        time.sleep(600)


class Gazetteer(ChecksMixin, HistoryMixin, ImportMixin):
    """A place-name gazetteer in one SQLite file.

    Parameters
    ----------
    path : str or Path, optional
        The database file (see :func:`default_path`).
    create : bool
        Create the file if it does not exist (``geoplan gaz init``).
    config : naming.NamingConfig, optional
        Naming rules checked on every add and rename.

    Raises
    ------
    GazetteerError
        If the file does not exist (and ``create`` is false) or is not a gazetteer.
    """

    def __init__(self, path=None, create: bool = False, config: naming.NamingConfig | None = None):
        self.config = config or naming.DEFAULT_CONFIG
        url = path if path is not None else os.environ.get(ENV_VAR)
        if pg.is_url(str(url) if url is not None else None):
            self._open_postgresql(str(url).strip(), create)
            return
        self.backend = "sqlite"
        self.path = default_path(path)
        if self.path.is_dir():
            raise GazetteerError(f"{self.path} 是一个文件夹，不是地名库文件；请给出地名库文件的路径（--db）。")
        if not self.path.exists() and not create:
            raise GazetteerError(
                f"No gazetteer at {self.path} (looked in {self.path.resolve().parent}). Create one with "
                f"`geoplan gaz init --db {self.path}`, or point --db / ${ENV_VAR} at an existing one."
                f"（{self.path} 处没有地名库：用 geoplan gaz init --db {self.path} 新建。）")
        # A file that is there already is first looked at read-only: a
        # GeoPackage or any other user file given by mistake is refused
        # without a byte of it changing (no WAL switch, no tables).
        if self.path.exists() and self.path.stat().st_size > 0:
            _check_is_gazetteer(self.path)
        elif self.path.exists() and not create:
            raise GazetteerError(f"{self.path} 是一个空文件，不是 geoplan 地名库（not a geoplan gazetteer），未作改动。"
                                 f"新建地名库请用 geoplan gaz init --db {self.path}。")
        try:
            self.conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            self.conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            if self.conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = NORMAL")
            if create:
                # Every statement is IF NOT EXISTS, so a second init (or two
                # at once) is harmless.
                self.conn.executescript(_DDL)
                with self._immediate():
                    self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
                    self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('next_id', '1')")
            self._migrate()
            version = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise GazetteerError(f"{self.path} is not a geoplan gazetteer ({exc}). Check the path; "
                                 "`geoplan gaz init` creates a new one.") from exc
        if version is None:
            raise GazetteerError(f"{self.path} is not a geoplan gazetteer. `geoplan gaz init` creates one.")

    def _open_postgresql(self, url: str, create: bool) -> None:
        """Connect to a PostgreSQL/PostGIS gazetteer (see :mod:`geoplan.gazetteer.pg`)."""
        self.backend = "postgresql"
        self.path = pg.safe_url(url)  # named in messages; never the password
        self.conn = pg.PgConnection(url)
        try:
            if create:
                self.conn.create_schema()
                with self._immediate():
                    import uuid

                    for key, value in (("schema_version", SCHEMA_VERSION), ("next_id", "1"),
                                       ("db_id", uuid.uuid4().hex), ("change_counter", "0")):
                        self.conn.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (key, value))
            elif not self.conn.is_gazetteer():
                raise GazetteerError(f"{self.path} 里没有 geoplan 地名库，未作任何改动。"
                                     f"新建请用 geoplan gaz init --db {self.path}。(No gazetteer in this database.)")
        except BaseException:
            self.conn.close()
            raise

    def _migrate(self) -> None:
        """Bring an older gazetteer up to date (committee column, database id, change counter), once."""
        cols = {r[1] for r in self.conn.execute("PRAGMA table_info(names)")}
        keys = {r[0] for r in self.conn.execute("SELECT key FROM meta")}
        if "committee" in cols and {"db_id", "change_counter"} <= keys:
            return
        with self._immediate():  # re-checked under the write lock: two processes may migrate at once
            cols = {r[1] for r in self.conn.execute("PRAGMA table_info(names)")}
            if "committee" not in cols:
                self.conn.execute("ALTER TABLE names ADD COLUMN committee TEXT")
            import uuid

            self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('db_id', ?)", (uuid.uuid4().hex,))
            self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('change_counter', '0')")
            self.conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (SCHEMA_VERSION,))

    def version_key(self) -> tuple[str, int]:
        """``(database id, change counter)``: changes with every committed change, the search index's key."""
        rows = dict(self.conn.execute("SELECT key, value FROM meta WHERE key IN ('db_id', 'change_counter')"))
        return rows.get("db_id", ""), int(rows.get("change_counter", 0))

    # ------------------------------------------------------------------ basics
    def close(self) -> None:
        """Close the database connection."""
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @contextmanager
    def _immediate(self):
        # BEGIN IMMEDIATE takes the write lock up front, so two writers
        # queue on the busy timeout instead of one failing at COMMIT.
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    @contextmanager
    def _change(self, op: str, summary: str, who: str | None, why: str | None, reverts: int | None = None):
        with self._immediate():
            cur = self.conn.execute(
                "INSERT INTO changes (at, who, why, op, summary, reverts) VALUES (?,?,?,?,?,?)",
                (now_text(), who or _os_user(), why, op, summary, reverts))
            # One more committed change: search indexes built before it are stale.
            self.conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'change_counter'")
            yield _Txn(self.conn, cur.lastrowid)

    def _row(self, name_id: str) -> dict | None:
        cur = self.conn.execute(f"SELECT {', '.join(COLUMNS)} FROM names WHERE name_id = ?", (name_id,))
        row = cur.fetchone()
        return None if row is None else _decode(row)

    def _put(self, rec: dict) -> None:
        self.conn.execute(f"INSERT OR REPLACE INTO names ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                          _encode(rec))

    def _new_id(self) -> str:
        n = int(self.conn.execute("SELECT value FROM meta WHERE key='next_id'").fetchone()[0])
        while self.conn.execute("SELECT 1 FROM names WHERE name_id = ?", (f"GZ{n:08d}",)).fetchone():
            n += 1
        self.conn.execute("UPDATE meta SET value = ? WHERE key='next_id'", (str(n + 1),))
        return f"GZ{n:08d}"

    def _new_ids(self, n: int, exclude=()) -> list[str]:
        """``n`` fresh IDs, the same ones ``n`` calls of :meth:`_new_id` would give, with one query.

        ``exclude`` holds IDs about to be written in the same transaction (an
        import's explicit IDs): handing one of them out again would make the
        second row overwrite the first. Must run inside the write
        transaction, like :meth:`_new_id`.
        """
        if n == 0:
            return []
        start = int(self.conn.execute("SELECT value FROM meta WHERE key='next_id'").fetchone()[0])
        # IDs at or after the counter that are already taken (imported with
        # an explicit GZ… ID): one range scan of the primary key instead of a
        # look-up per new ID. Below 10^7 every candidate ID sorts at or after
        # the start; from there on a 9-digit ID can sort before an 8-digit
        # one, so take every GZ ID.
        low = f"GZ{start:08d}" if start < 10 ** 7 else "GZ"
        taken = {r[0] for r in self.conn.execute("SELECT name_id FROM names WHERE name_id >= ? AND name_id < 'GZ:'",
                                                 (low,))}
        taken.update(exclude)
        out, k = [], start
        for _ in range(n):
            while f"GZ{k:08d}" in taken:
                k += 1
            out.append(f"GZ{k:08d}")
            k += 1
        self.conn.execute("UPDATE meta SET value = ? WHERE key='next_id'", (str(k),))
        return out

    def _drop_indexes_for(self, n_rows: int) -> list[tuple[str, str]]:
        """Drop the secondary indexes of ``names`` if writing ``n_rows`` is cheaper without them.

        Inserting into an index in name order is random access; building it
        afterwards is one sort. That only pays when the import is most of
        the table. The drop runs in the caller's write transaction, so an
        interrupted import rolls it back with the rows.

        Returns
        -------
        list of (str, str)
            The indexes dropped and their columns, for the caller to create
            again before committing.
        """
        if self.backend != "sqlite" or n_rows < 10_000 or n_rows < 2 * self.count():
            return []
        present = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='index' AND "
                                                   "tbl_name='names'")}
        dropped = [(i, c) for i, c in _NAMES_INDEXES.items() if i in present]
        for index, _ in dropped:
            self.conn.execute(f"DROP INDEX {index}")
        return dropped

    def count(self) -> int:
        """Number of records (current and retired)."""
        return self.conn.execute("SELECT count(*) FROM names").fetchone()[0]

    # ------------------------------------------------------------------ lookups
    def resolve(self, ref: str, include_retired: bool = True) -> dict:
        """The record a user means by ``ref``: an ID, else a current name, else a former/retired name.

        Raises
        ------
        GazetteerError
            If nothing matches, or a name matches several records (give the ID).
        """
        ref = str(ref).strip()
        if not ref:
            raise GazetteerError("No name or ID given.")
        rec = self._row(ref)
        if rec is not None:
            return rec
        ids = [r[0] for r in self.conn.execute(
            "SELECT name_id FROM names WHERE name = ? ORDER BY status = 'retired', name_id", (ref,))]
        if ids:
            cur = [i for i in ids if self._row(i)["status"] == "current"]
            pick = cur or (ids if include_retired else [])
            if len(pick) == 1:
                return self._row(pick[0])
            if len(pick) > 1:
                raise GazetteerError(f"{ref} names {len(pick)} records ({', '.join(pick[:10])}); give the ID.")
        like = [r[0] for r in self.conn.execute(
            "SELECT name_id FROM names WHERE former_names LIKE ? LIMIT 50", (f'%"{ref}"%',))]
        like = [i for i in like if any(f["name"] == ref for f in self._row(i)["former_names"])]
        if len(like) == 1:
            return self._row(like[0])
        if len(like) > 1:
            raise GazetteerError(f"{ref} is a former name of {', '.join(like)}; give the ID.")
        raise NameNotFoundError(f"No place name or ID {ref!r} in {self.path}. Try `geoplan gaz search {ref}`.")

    def frame(self, as_of: str | None = None, include_retired: bool = False, category=None,
              parent: str | None = None) -> pd.DataFrame:
        """The records as a table (``former_names``/``sources`` as lists).

        Parameters
        ----------
        as_of : str, optional
            ISO date: the names valid on that day, each shown under the name
            it had then (a renamed place appears under its former name).
        include_retired : bool
            Also return retired names (ignored with ``as_of``).
        category : str or list of str, optional
            Only these category codes.
        parent : str, optional
            Only records whose parent code starts with this.
        """
        sql = f"SELECT {', '.join(COLUMNS)} FROM names"
        where, args = [], []
        if as_of is not None:
            as_of = check_date(as_of, "--as-of")
            where.append("(valid_from IS NULL OR valid_from <= ?) AND (valid_to IS NULL OR valid_to > ?)")
            args += [as_of, as_of]
        elif not include_retired:
            where.append("status = 'current'")
        if category:
            cats = [category] if isinstance(category, str) else list(category)
            where.append(f"category IN ({', '.join('?' * len(cats))})")
            args += cats
        if parent:
            where.append("parent_code LIKE ?")
            args.append(f"{parent}%")
        if where:
            sql += " WHERE " + " AND ".join(where)
        df = pd.DataFrame(self.conn.execute(sql + " ORDER BY parent_code, category, name_id", args).fetchall(),
                          columns=list(COLUMNS), dtype=object)
        for c in JSON_COLUMNS:
            df[c] = [json.loads(v) if v else [] for v in df[c]]
        if as_of is not None and not df.empty:
            df = _as_of_view(df, as_of, self)
        return df

    # ------------------------------------------------------------------ operations
    def make_record(self, name: str, category: str, parent_code: str | None = None, **fields) -> dict:
        """A complete, checked record from user values (no database change).

        Raises
        ------
        RecordError
            For an empty name, unknown category, malformed parent code, bad date,
            bad geometry, bad heritage level/year or a pronunciation override
            that does not fit the name.
        """
        rec = dict.fromkeys(COLUMNS)
        rec.update({k: v for k, v in fields.items() if k in _COLUMN_SET})
        rec["name"] = _clean(name)
        if not rec["name"]:
            raise RecordError("The standard name is empty. Give the name, e.g. 回山镇.")
        rec["category"] = _clean(category)
        if rec["category"] not in self.config.categories:
            raise RecordError(f"Unknown category {category!r}. Known categories: "
                              + ", ".join(f"{c.code} {c.name_zh}" for c in self.config.categories.values()) + ".")
        rec["parent_code"] = _clean(parent_code) or None
        if rec["parent_code"] is not None and not (rec["parent_code"].isdigit() and len(rec["parent_code"]) in (6, 9, 12)):
            raise RecordError(f"Parent code {parent_code!r} is not a 6, 9 or 12-digit division code "
                              "(e.g. 330624 for 新昌县, 330624104 for 回山镇).")
        rec["status"] = _clean(rec.get("status")) or "current"
        if rec["status"] not in STATUSES:
            raise RecordError(f"Status {rec['status']!r} must be 'current' or 'retired'.")
        rec["valid_from"] = check_date(rec.get("valid_from"), "valid-from date")
        rec["valid_to"] = check_date(rec.get("valid_to"), "valid-to date")
        if rec["valid_from"] and rec["valid_to"] and rec["valid_to"] <= rec["valid_from"]:
            raise RecordError(f"valid-to {rec['valid_to']} is not after valid-from {rec['valid_from']}.")
        rec["geometry"] = check_geometry(rec.get("geometry"))
        rec["former_names"] = list(rec.get("former_names") or [])
        rec["sources"] = list(rec.get("sources") or [])
        for c in ("origin", "meaning", "pron_override", "specific", "generic", "heritage_level"):
            rec[c] = _clean(rec.get(c)) or None
        _check_heritage(rec)
        return self._derive(rec)

    def _derive(self, rec: dict) -> dict:
        name = rec["name"]
        cat = self.config.categories.get(rec["category"])
        if not rec.get("specific") or not rec.get("generic") or rec["specific"] + rec["generic"] != name:
            spec, gen = romanize.split_name(name, cat.generics) if cat and cat.generics else ("", "")
            if not gen:
                spec, gen = romanize.split_name(name)
            rec["specific"], rec["generic"] = spec, gen or None
        try:
            sylls = romanize.syllables(name, rec.get("pron_override"))
        except romanize.PronunciationError as exc:
            raise RecordError(str(exc)) from None
        joined = bool(cat and cat.joined) or not rec["generic"]
        rec["roman"] = romanize.spell(sylls, None if joined else len(rec["specific"]))
        rec["pinyin_key"] = "".join(sylls).lower()
        rec["initials"] = "".join(x[0] for x in sylls if x).lower()
        return rec

    def add(self, name: str, category: str, parent_code: str | None = None, *, name_id: str | None = None,
            who: str | None = None, why: str | None = None, force: bool = False, **fields) -> tuple[dict, pd.DataFrame]:
        """Add a standard name (checked against the naming rules) in one change.

        Returns
        -------
        (dict, pandas.DataFrame)
            The stored record and the rule warnings (or forced errors) it raised.

        Raises
        ------
        RecordError, naming.NamingError, GazetteerError
            Bad value, rule broken (unless ``force``), or the ID already exists.
        """
        rec = self.make_record(name, category, parent_code, **fields)
        rec["name_id"] = _clean(name_id) or None
        self._check_parent(rec)
        if name_id is not None:
            name_id = _clean(name_id)
            if not name_id:
                raise RecordError("The ID is empty.")
            if self._row(name_id) is not None:
                raise GazetteerError(f"ID {name_id} is already used by {self._row(name_id)['name']}.")
        rec["name_id"] = name_id or "(new)"
        self._enforce([rec], f"Adding {rec['name']}", force)  # fail fast, before waiting for the lock
        with self._change("add", f"add {rec['name']}", who, why) as tx:
            # Checked again under the write lock: another process may have
            # added a clashing name while we waited.
            report = self._enforce([rec], f"Adding {rec['name']}", force)
            if name_id is None:
                rec["name_id"] = self._new_id()
                report = report.assign(name_id=rec["name_id"]) if not report.empty else report
            elif self._row(name_id) is not None:  # taken while we waited for the lock
                raise GazetteerError(f"ID {name_id} is already used by {self._row(name_id)['name']}.")
            self._put(rec)
            _test_pause("put", 1)  # a kill test stops here, holding the write lock with the row written
            tx.log(rec["name_id"], None, rec)
        return rec, report

    def _update(self, op: str, summary: str, changes: list[tuple[dict, dict | None]], who, why,
                reverts: int | None = None, recheck=None) -> int:
        with self._change(op, summary, who, why, reverts) as tx:
            if recheck is not None:
                recheck()  # naming rules again, under the write lock
            for before, after in changes:
                # Re-read inside the lock: another process may have changed it.
                key = (before or after)["name_id"]
                current = self._row(key)
                if _dump(current) != _dump(before):
                    raise ConflictError(f"{key}（{(before or after)['name']}）刚被其他人修改过，与本次修改冲突，"
                                        "本次修改未保存；请查看 geoplan gaz history 后重新运行命令。"
                                        f"({key} was changed by someone else meanwhile; run the command again.)")
                if after is None:
                    self.conn.execute("DELETE FROM names WHERE name_id = ?", (key,))
                else:
                    self._put(after)
                tx.log(key, before, after)
            return tx.change_id

    def rename(self, ref: str, new_name: str, *, date: str | None = None, who=None, why=None,
               force: bool = False, specific: str | None = None, generic: str | None = None,
               pron_override: str | None = None) -> tuple[dict, pd.DataFrame]:
        """Give a place a new standard name; the old one becomes a former name.

        Parameters
        ----------
        date : str, optional
            Day the new name takes effect (default today); the former name is
            recorded as valid until then.
        """
        before = self.resolve(ref)
        if before["status"] != "current":
            raise GazetteerError(f"{before['name']} ({before['name_id']}) is retired; only current names can be renamed.")
        date = check_date(date, "date") or today()
        new_name = _clean(new_name)
        if new_name == before["name"]:
            raise GazetteerError(f"{before['name_id']} is already called {new_name}.")
        after = dict(before, former_names=before["former_names"] + [
            {"name": before["name"], "from": _former_start(before), "to": date}])
        extra = {k: v for k, v in after.items() if k not in ("name", "category", "parent_code")}
        after = self.make_record(new_name, before["category"], before["parent_code"],
                                 **{**extra, "specific": specific, "generic": generic,
                                    "pron_override": pron_override})
        after["name_id"] = before["name_id"]
        what = f"Renaming {before['name']} to {new_name}"
        report = self._enforce([after], what, force, exclude=[before["name_id"]])
        self._update("rename", f"rename {before['name']} → {new_name}", [(before, after)], who, why,
                     recheck=lambda: self._enforce([after], what, force, exclude=[before["name_id"]]))
        return after, report

    def retire(self, ref: str, *, date: str | None = None, who=None, why=None) -> dict:
        """Retire a standard name from ``date`` (it stays in the gazetteer and its history)."""
        before = self.resolve(ref)
        if before["status"] == "retired":
            raise GazetteerError(f"{before['name']} ({before['name_id']}) is already retired.")
        date = check_date(date, "date") or today()
        if before["valid_from"] and date <= before["valid_from"]:
            raise GazetteerError(f"Retirement date {date} is not after {before['name']}'s valid-from {before['valid_from']}.")
        after = dict(before, status="retired", valid_to=date)
        self._update("retire", f"retire {before['name']}", [(before, after)], who, why)
        return after

    def merge(self, refs: list[str], *, into: str | None = None, new_name: str | None = None,
              date: str | None = None, who=None, why=None, force: bool = False) -> dict:
        """Merge several places into one; the others are retired and kept as its former names.

        Either ``into`` names an existing record that absorbs the others, or
        ``new_name`` creates a new record (category and parent of the first;
        geometry the union of theirs) valid from ``date``.
        """
        import shapely

        if (into is None) == (new_name is None):
            raise GazetteerError("Say what to merge into: --into NAME|ID (an existing place) or --new-name NAME.")
        date = check_date(date, "date") or today()
        sources = [self.resolve(r) for r in refs]
        ids = [s["name_id"] for s in sources]
        if len(set(ids)) != len(ids):
            raise GazetteerError("The same place is listed twice in the merge.")
        target = self.resolve(into) if into is not None else None
        if target is not None and target["name_id"] in ids:
            sources = [s for s in sources if s["name_id"] != target["name_id"]]
        if not sources:
            raise GazetteerError("Nothing to merge: give at least one place besides the target.")
        for s in sources + ([target] if target else []):
            if s["status"] != "current":
                raise GazetteerError(f"{s['name']} ({s['name_id']}) is retired and cannot be merged.")
        former = []
        for s in sources:
            former += s["former_names"] + [{"name": s["name"], "from": _former_start(s), "to": date,
                                            "merged_from": s["name_id"]}]
        changes = []
        if target is None:
            geoms = [shapely.from_wkt(s["geometry"]) for s in sources if s["geometry"]]
            geom = shapely.union_all(geoms) if geoms else None
            first = sources[0]
            after = self.make_record(new_name, first["category"], first["parent_code"], valid_from=date,
                                     geometry=geom, former_names=former,
                                     sources=sorted({x for s in sources for x in s["sources"]}))
            after["name_id"] = "(new)"
            self._enforce([after], f"Merging into {new_name}", force, exclude=ids)
            with self._change("merge", f"merge {', '.join(s['name'] for s in sources)} → {new_name}", who, why) as tx:
                after["name_id"] = self._new_id()
                self._put(after)
                tx.log(after["name_id"], None, after)
                for s in sources:
                    if _dump(self._row(s["name_id"])) != _dump(s):
                        raise ConflictError(f"{s['name_id']}（{s['name']}）刚被其他人修改过，本次修改未保存；请重新运行命令。"
                                            f"({s['name_id']} was changed by someone else meanwhile; run it again.)")
                    gone = dict(s, status="retired", valid_to=date)
                    self._put(gone)
                    tx.log(s["name_id"], s, gone)
            return after
        after = dict(target, former_names=target["former_names"] + former)
        changes.append((target, after))
        for s in sources:
            changes.append((s, dict(s, status="retired", valid_to=date)))
        self._update("merge", f"merge {', '.join(s['name'] for s in sources)} → {target['name']}", changes, who, why)
        return after

    def split(self, ref: str, new_names: list[str], *, date: str | None = None, keep: bool = False,
              who=None, why=None, force: bool = False) -> list[dict]:
        """Split a place into several new ones, each recording the old name as former name.

        The original is retired from ``date`` unless ``keep`` (one part keeps
        the old name and the others split off).
        """
        src = self.resolve(ref)
        if src["status"] != "current":
            raise GazetteerError(f"{src['name']} ({src['name_id']}) is retired and cannot be split.")
        if not new_names:
            raise GazetteerError("Give the names of the new places: split NAME --into A --into B.")
        date = check_date(date, "date") or today()
        recs = []
        for n in new_names:
            r = self.make_record(n, src["category"], src["parent_code"], valid_from=date,
                                 former_names=[{"name": src["name"], "from": _former_start(src), "to": date,
                                                "split_from": src["name_id"]}], sources=src["sources"])
            r["name_id"] = f"(new {n})"
            recs.append(r)
        self._enforce(recs, f"Splitting {src['name']}", force, exclude=[] if keep else [src["name_id"]])
        with self._change("split", f"split {src['name']} → {', '.join(new_names)}", who, why) as tx:
            if _dump(self._row(src["name_id"])) != _dump(src):
                raise ConflictError(f"{src['name_id']}（{src['name']}）刚被其他人修改过，本次修改未保存；请重新运行命令。"
                                    f"({src['name_id']} was changed by someone else meanwhile; run it again.)")
            for r in recs:
                r["name_id"] = self._new_id()
                self._put(r)
                tx.log(r["name_id"], None, r)
            if not keep:
                gone = dict(src, status="retired", valid_to=date)
                self._put(gone)
                tx.log(src["name_id"], src, gone)
        return recs

    def move(self, ref: str, new_parent: str, *, who=None, why=None, force: bool = False) -> tuple[dict, pd.DataFrame]:
        """Put a place under a new parent administrative unit (checked against the rules there)."""
        before = self.resolve(ref)
        after = self.make_record(before["name"], before["category"], new_parent,
                                 **{k: v for k, v in before.items() if k not in ("name", "category", "parent_code")})
        after["name_id"] = before["name_id"]
        if after["parent_code"] == before["parent_code"]:
            raise GazetteerError(f"{before['name']} is already under {new_parent}.")
        self._check_parent(after)
        what = f"Moving {before['name']} to {new_parent}"
        report = self._enforce([after], what, force, exclude=[before["name_id"]])
        self._update("move", f"move {before['name']}: {before['parent_code']} → {after['parent_code']}",
                     [(before, after)], who, why,
                     recheck=lambda: self._enforce([after], what, force, exclude=[before["name_id"]]))
        return after, report

    def edit(self, ref: str, *, who=None, why=None, op: str = "edit", **fields) -> dict:
        """Change descriptive fields of a record (origin, meaning, sources, pronunciation, geometry, dates …)."""
        before = self.resolve(ref)
        bad = set(fields) - set(EDITABLE) - {"name"}
        if bad or "name" in fields:
            raise GazetteerError(f"Cannot edit {', '.join(sorted(bad or {'name'}))} here (use rename/move).")
        merged = {**before, **fields}
        after = self.make_record(before["name"], merged.pop("category"), merged.pop("parent_code"),
                                 **{k: v for k, v in merged.items() if k != "name"})
        after["name_id"] = before["name_id"]
        if _dump(after) == _dump(before):
            return before
        self._update(op, f"{op} {before['name']}: {', '.join(sorted(fields))}", [(before, after)], who, why)
        return after

    def set_heritage(self, ref: str, level: str | None, year: int | None, *, who=None, why=None) -> dict:
        """List a name in (``level`` given) or remove it from (``None``) the 地名文化遗产保护名录."""
        rec = self.resolve(ref)
        if level is None:
            if not rec["heritage_level"]:
                raise GazetteerError(f"{rec['name']} is not on the heritage list.")
            return self.edit(rec["name_id"], heritage_level=None, heritage_year=None, who=who, why=why,
                             op="heritage-remove")
        return self.edit(rec["name_id"], heritage_level=level, heritage_year=year, who=who, why=why,
                         op="heritage-add")

