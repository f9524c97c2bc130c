"""Records of a bulk import built column by column: the common rows of a national list in a few passes.

:meth:`geoplan.gazetteer.bulk_import.ImportMixin.plan_import` checks every
row through :meth:`~geoplan.gazetteer.edits.EditsMixin.make_record`. For a
list of 600k villages that is 600k calls each testing every field, while
nearly every row is the same simple case: a new ID, a name, a category, a
parent code and perhaps a committee, nothing to check beyond those. This
module finds those rows and builds their records from whole columns; every
other row (an update, a date, a geometry, sources, a heritage listing, a
pronunciation, or any value make_record would refuse) is left to
make_record, so each refusal keeps its message. The records built here equal
make_record's, field for field.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager

from geoplan.gazetteer.records import COLUMNS, STATUSES, _clean

#: Fields whose value make_record has to check one by one (dates, WKT, a listing, a pronunciation) or turn
#: into a list: a row with any of them given takes make_record's way.
_ONE_BY_ONE = ("valid_from", "valid_to", "geometry", "sources", "heritage_year", "heritage_level",
               "pron_override")
#: Free-text fields make_record cleans (runs of whitespace to one space), empty → None.
_CLEANED = ("origin", "meaning", "specific", "generic")


def table_columns(df) -> dict[str, list] | None:
    """The columns of ``df`` as lists, or None unless every cell is text or None (as read_import_table gives).

    Examples
    --------
    >>> import pandas as pd
    >>> table_columns(pd.DataFrame({"name": ["下垟村", None]}, dtype=object))
    {'name': ['下垟村', None]}
    >>> table_columns(pd.DataFrame({"heritage_year": [2019]})) is None
    True
    """
    if not df.columns.is_unique or not all(df[c].dtype == object for c in df.columns):
        return None
    cols = {c: df[c].tolist() for c in df.columns}
    if all(v is None or type(v) is str for col in cols.values() for v in col):
        return cols
    return None


def new_records(store, cols: dict[str, list], existing: dict, derived: dict) -> tuple[list, list]:
    """IDs and records of the rows that are new and simple; None for the rows make_record must see.

    Parameters
    ----------
    store : geoplan.gazetteer.store.Gazetteer
        For its categories and :meth:`_derive`.
    cols : dict
        From :func:`table_columns`, fields named as the gazetteer's.
    existing : dict
        The stored records with an ID of the file: their rows are updates.
    derived : dict
        The import's memo of derived fields (see ``_derive``).

    Returns
    -------
    (list, list)
        Per row: the cleaned ID (None if none), and the record (without
        ``name_id``) or None.
    """
    n = len(next(iter(cols.values()))) if cols else 0
    none = [None] * n
    rids = [_clean(v) or None for v in cols["name_id"]] if "name_id" in cols else none
    simple = [rid is None or rid not in existing for rid in rids]
    for f in _ONE_BY_ONE:
        if f in cols:
            simple = [s and (v is None or not v.strip()) for s, v in zip(simple, cols[f])]
    cats = store.config.categories

    def per_value(col, fix):
        # Few distinct categories, statuses and parents: clean and check each once.
        if col is None:
            return none, fix(None)
        seen = {}
        return [seen[v] if v in seen else seen.setdefault(v, fix(v)) for v in col], None

    def category(v):
        c = _clean(v)
        return c if c in cats else False

    def parent(v):
        p = _clean(v) or None
        return p if p is None or (p.isdigit() and len(p) in (6, 9, 12)) else False

    def status(v):
        s = _clean(v) or "current"
        return s if s in STATUSES else False

    cat_l, _c = per_value(cols.get("category"), category)
    parent_l, parent_all = per_value(cols.get("parent_code"), parent)
    status_l, status_all = per_value(cols.get("status"), status)
    names = [_clean(v) for v in cols["name"]] if "name" in cols else none
    cleaned = {f: [_clean(v) or None for v in cols[f]] if f in cols else none for f in _CLEANED}
    # Not cleaned by make_record: kept as given unless blank.
    committee = [v if v is not None and v.strip() else None for v in cols["committee"]] if "committee" in cols \
        else none
    if parent_all is not None:
        parent_l = [parent_all] * n
    if status_all is not None:
        status_l = [status_all] * n
    ok = [s and name and cat and par is not False and st
          for s, name, cat, par, st in zip(simple, names, cat_l, parent_l, status_l)]
    keys = [(name, cat, spec, gen, None) if good else None  # _derive's memo key
            for good, name, cat, spec, gen in zip(ok, names, cat_l, cleaned["specific"], cleaned["generic"])]
    for key in set(keys) - derived.keys() - {None}:
        store._derive({"name": key[0], "category": key[1], "specific": key[2], "generic": key[3],
                       "pron_override": None}, derived)
    got = derived.get
    recs = [None if key is None else dict(zip(COLUMNS, (None, key[0], d[0], d[1], key[1], par, None, d[2], None, st,
                                                        None, None, [], origin, meaning, None, None, [], d[3], d[4],
                                                        com)))
            for key, d, par, st, origin, meaning, com in zip(keys, map(got, keys), parent_l, status_l,
                                                              cleaned["origin"], cleaned["meaning"], committee)]
    return rids, recs


@contextmanager
def gc_paused():
    """Hold Python's cyclic garbage collector while a bulk import builds its records.

    Every few hundred new dicts set off a collection that walks all the
    objects still alive: with 600k records alive that doubles the time of
    building them. The records hold no reference cycles; whatever garbage
    the pause leaves is collected once it ends.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
