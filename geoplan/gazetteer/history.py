"""History of the gazetteer: the change log of a record, one change, the latest changes, revert, and
the view of the names as they were on a past day (``--as-of``)."""

from __future__ import annotations

from geoplan.gazetteer.lazy_pandas import pd

from geoplan.gazetteer import romanize
from geoplan.gazetteer.records import COLUMNS, GazetteerError, _diff, _dump, _load, local_time_text
from geoplan.i18n import _


class HistoryMixin:
    """Change-log queries and :meth:`revert` of :class:`geoplan.gazetteer.store.Gazetteer`."""

    def history(self, ref: str) -> pd.DataFrame:
        """Every change touching a record, oldest first (``change_id, at, who, op, why, field changes``)."""
        rec_id = self._history_id(ref)
        rows = self.conn.execute(
            "SELECT c.change_id, c.at, c.who, c.op, c.summary, c.why, c.reverts, i.before, i.after "
            "FROM change_items i JOIN changes c USING (change_id) WHERE i.name_id = ? ORDER BY c.change_id, i.seq",
            (rec_id,)).fetchall()
        out = []
        for cid, at, who, op, summ, why, rev, before, after in rows:
            out.append({"change": cid, "at": local_time_text(at), "who": who, "op": op, "summary": summ, "why": why or "",
                        "reverts": "" if rev is None else rev, "fields": _diff(_load(before), _load(after))})
        return pd.DataFrame(out, columns=["change", "at", "who", "op", "summary", "why", "reverts", "fields"])

    def _history_id(self, ref: str) -> str:
        if self._row(ref) is not None or self.conn.execute(
                "SELECT 1 FROM change_items WHERE name_id = ? LIMIT 1", (ref,)).fetchone():
            return ref
        return self.resolve(ref)["name_id"]

    def change(self, change_id: int) -> dict:
        """One change with its items (``before``/``after`` records)."""
        row = self.conn.execute("SELECT change_id, at, who, why, op, summary, reverts FROM changes "
                                "WHERE change_id = ?", (int(change_id),)).fetchone()
        if row is None:
            raise GazetteerError(_("There is no change {change} in the change log of {db}. "
                                   "`geoplan gaz history NAME` lists the changes of a name.").format(
                change=change_id, db=self.path))
        items = self.conn.execute("SELECT name_id, before, after FROM change_items WHERE change_id = ? "
                                  "ORDER BY seq", (int(change_id),)).fetchall()
        keys = ("change_id", "at", "who", "why", "op", "summary", "reverts")
        return dict(zip(keys, row)) | {"items": [(i, _full(_load(b)), _full(_load(a))) for i, b, a in items]}

    def changes(self, limit: int = 50) -> pd.DataFrame:
        """The latest changes of the whole gazetteer, newest first."""
        rows = self.conn.execute(
            "SELECT c.change_id, c.at, c.who, c.op, c.summary, c.why, count(i.seq) FROM changes c "
            "LEFT JOIN change_items i USING (change_id) GROUP BY c.change_id ORDER BY c.change_id DESC LIMIT ?",
            (limit,)).fetchall()
        df = pd.DataFrame(rows, columns=["change", "at", "who", "op", "summary", "why", "records"])
        df["at"] = [local_time_text(a) for a in df["at"]]
        return df

    def revert(self, change_id: int, *, who=None, why=None) -> int:
        """Undo a change by writing a new change that restores every record it touched.

        Raises
        ------
        GazetteerError
            If the change does not exist, was already reverted, or a record it
            touched has changed since (revert the later change first).
        """
        ch = self.change(change_id)
        done = self.conn.execute("SELECT change_id FROM changes WHERE reverts = ?", (int(change_id),)).fetchone()
        if done:
            raise GazetteerError(_("Change {change} was already undone by change {by}.").format(change=change_id, by=done[0]))
        undo = []
        for name_id, before, after in reversed(ch["items"]):
            if _dump(self._row(name_id)) != _dump(after):
                later = self.conn.execute("SELECT max(change_id) FROM change_items WHERE name_id = ?",
                                          (name_id,)).fetchone()[0]
                raise GazetteerError(_("Change {change} cannot be undone: {id} has changed since (change {later}). "
                                       "Undo the later change first.").format(change=change_id, id=name_id,
                                                                              later=later))
            undo.append((after, before))
        # _update re-checks every record under the write lock, writes and logs, as for any other change.
        return self._update("revert", f"revert change {change_id} ({ch['summary']})", undo, who, why,
                            reverts=int(change_id))


def _full(rec: dict | None) -> dict | None:
    """A logged record with every current column (entries logged before a column existed lack it)."""
    return None if rec is None else {**dict.fromkeys(COLUMNS), **rec}


def _parents_on(conn, day: str) -> dict[str, str | None]:
    """Records whose parent changed after ``day``: name ID → the parent it had on that day.

    A move (or the revert of one) takes effect on the day it was recorded
    (China time); the earliest parent change after ``day`` tells the parent
    before it.
    """
    out: dict[str, str | None] = {}
    rows = conn.execute(
        "SELECT i.name_id, c.at, i.before, i.after FROM change_items i JOIN changes c USING (change_id) "
        "WHERE c.op IN ('move', 'revert') AND i.before IS NOT NULL AND i.after IS NOT NULL ORDER BY c.change_id")
    for name_id, at, before, after in rows:
        if name_id in out or local_time_text(at)[:10] <= day:
            continue
        b, a = _load(before), _load(after)
        if b.get("parent_code") != a.get("parent_code"):
            out[name_id] = b.get("parent_code")
    return out


def _as_of_view(df: pd.DataFrame, day: str, store) -> pd.DataFrame:
    """The names as they were on ``day``: each under the name and the parent it had then, 专名/通名 and
    romanisation of that name."""
    names = []
    for name, fl in zip(df["name"], df["former_names"]):
        shown = name
        for f in fl:
            start, end = f.get("from"), f.get("to")
            if end and day < end and (not start or start <= day) and not f.get("merged_from") \
                    and not f.get("split_from"):
                shown = f["name"]
                break
        names.append(shown)
    df = df.copy()
    changed = [i for i, (a, b) in enumerate(zip(df["name"], names)) if a != b]
    df["name"] = names
    cols = {c: df.columns.get_loc(c) for c in ("specific", "generic", "roman", "pinyin_key", "initials")}
    for i in changed:
        rec = {"name": names[i], "category": df.iat[i, df.columns.get_loc("category")], "specific": None,
               "generic": None, "pron_override": None}
        try:
            rec = store._derive(rec)
        except Exception:  # an old name the pronunciation rules cannot spell: keep the plain reading
            rec.update(specific=None, generic=None, roman=romanize.romanize(names[i]),
                       pinyin_key=romanize.pinyin_key(names[i]), initials="")
        for c, k in cols.items():
            df.iat[i, k] = rec.get(c)
    moved = _parents_on(store.conn, day)
    if moved:
        k = df.columns.get_loc("parent_code")
        for i, nid in enumerate(df["name_id"]):
            if nid in moved:
                df.iat[i, k] = moved[nid]
    df["status"] = "current"
    return df
