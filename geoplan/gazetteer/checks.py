"""Checks of new and changed records against the gazetteer: naming rules with their neighbours, and
parents (official code or a record, no cycle)."""

from __future__ import annotations

from geoplan.gazetteer.lazy_pandas import pd

from geoplan.gazetteer import naming
from geoplan.gazetteer.records import COLUMNS, RecordError, _decode, parent_problem
from geoplan.i18n import _


class ChecksMixin:
    """Rule and parent checks of :class:`geoplan.gazetteer.store.Gazetteer`."""

    def _neighbours(self, recs: list[dict], exclude=()) -> pd.DataFrame:
        """Current names that rules compare ``recs`` with: same name, same pinyin, or same geometry."""
        names = {r["name"] for r in recs} | {f["name"] for r in recs for f in r["former_names"]}
        keys = {r["pinyin_key"] for r in recs}
        geoms = {r["geometry"] for r in recs if r["geometry"]}
        out = {}
        for col, vals in (("name", names), ("pinyin_key", keys), ("geometry", geoms)):
            vals = list(vals)
            for k in range(0, len(vals), 500):
                chunk = vals[k:k + 500]
                for row in self.conn.execute(
                        f"SELECT {', '.join(COLUMNS)} FROM names WHERE status='current' AND {col} IN "
                        f"({', '.join('?' * len(chunk))})", chunk):
                    rec = _decode(row)
                    out[rec["name_id"]] = rec
        # Names whose former names include one of ours (rule N021). One scan per 50 names, not one per name:
        # a place renamed hundreds of times brings hundreds of former names, and this runs under the write lock.
        wanted = list(names)[:200]
        for k in range(0, len(wanted), 50):
            chunk = wanted[k:k + 50]
            for row in self.conn.execute(f"SELECT {', '.join(COLUMNS)} FROM names WHERE status='current' AND "
                                         f"({' OR '.join(['former_names LIKE ?'] * len(chunk))})",
                                         [f'%"{n}"%' for n in chunk]):
                rec = _decode(row)
                out[rec["name_id"]] = rec
        for i in exclude:
            out.pop(i, None)
        return pd.DataFrame(list(out.values()), columns=list(COLUMNS))

    def check(self, recs: list[dict], exclude=()) -> pd.DataFrame:
        """Naming-rule violations of new or changed records against the current gazetteer.

        Returns
        -------
        pandas.DataFrame
            Violations of ``recs`` only (columns :data:`naming.REPORT_COLUMNS`).
        """
        current = [r for r in recs if r["status"] == "current"]
        if not current:
            return pd.DataFrame(columns=naming.REPORT_COLUMNS)
        ids = {r["name_id"] for r in current}
        others = self._neighbours(current, exclude=set(exclude) | ids)
        table = pd.concat([others, pd.DataFrame(current, columns=list(COLUMNS))], ignore_index=True)
        return naming.check_frame(table, self.config, only_ids=ids)

    def _enforce(self, recs: list[dict], what: str, force: bool, exclude=()) -> pd.DataFrame:
        report = self.check(recs, exclude=exclude)
        errors = report[report["severity"] == "error"] if not report.empty else report
        if not errors.empty and not force:
            raise naming.NamingError(errors, what)
        return report

    def _has_id(self, name_id: str) -> bool:
        return self.conn.execute("SELECT 1 FROM names WHERE name_id = ?", (name_id,)).fetchone() is not None

    def _ancestors(self, code: str | None, limit: int = 50) -> list[str]:
        """Parent codes above ``code`` through the gazetteer's own records (nearest first)."""
        out = []
        while code and len(out) < limit:
            row = self.conn.execute("SELECT parent_code FROM names WHERE name_id = ?", (code,)).fetchone()
            if row is None or not row[0] or row[0] in out:
                break
            out.append(row[0])
            code = row[0]
        return out

    def _check_parent(self, rec: dict) -> None:
        code = rec.get("parent_code")
        if not code:
            return
        why = parent_problem(code, self._has_id)
        if why:
            raise RecordError(why)
        nid = rec.get("name_id")
        if nid and (code == nid or nid in self._ancestors(code)):
            raise RecordError(_("{name} ({id}) cannot be placed under {code}: {code} is itself under {name}, which "
                                "would make a loop of parents (A under B and B under A). Check the parent "
                                "code.").format(name=rec["name"], id=nid, code=code))

