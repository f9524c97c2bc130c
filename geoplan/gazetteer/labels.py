"""What the gazetteer's tables are called where a person reads them: column headers and coded values.

The records, the change log and ``--json`` keep the stable English keys
(``name_id``, ``status = "current"``, ``op = "rename"``): scripts and the
exchange files rely on them. A table shown to a clerk — ``gaz show``,
``list``, ``search``, ``history``, ``categories``, ``rules`` — goes through
:func:`for_reading`, which renames the columns and translates the coded values
into the current language (Chinese by default).

Examples
--------
>>> import pandas as pd
>>> from geoplan.i18n import set_language
>>> df = pd.DataFrame({"name_id": ["330624104"], "name": ["回山镇"], "status": ["current"]})
>>> set_language("zh_CN"); for_reading(df).columns.tolist(), for_reading(df)["状态"].tolist()
(['地名代码', '名称', '状态'], ['现行'])
>>> set_language("en"); for_reading(df).columns.tolist()
['ID', 'name', 'status']
>>> set_language(None)
"""

from __future__ import annotations

from geoplan.i18n import N_, catalog

#: column → header (English msgid; the Chinese follows 《地名管理条例》 and the committee's forms)
COLUMNS = {
    "name_id": N_("ID"),
    "name": N_("name"),
    "specific": N_("specific term"),
    "generic": N_("generic term"),
    "category": N_("category code"),
    "parent_code": N_("parent division code"),
    "geometry": N_("location (WKT)"),
    "roman": N_("romanised spelling"),
    "pron_override": N_("pronunciation override"),
    "status": N_("status"),
    "valid_from": N_("valid from"),
    "valid_to": N_("valid until"),
    "former_names": N_("former names"),
    "origin": N_("origin of the name"),
    "meaning": N_("meaning of the name"),
    "heritage_level": N_("place-name heritage level"),
    "heritage_year": N_("year listed as heritage"),
    "sources": N_("sources"),
    "committee": N_("committee name"),
    "match": N_("match"),
    "score": N_("similarity"),
    "change": N_("change no."),
    "at": N_("time"),
    "who": N_("by"),
    "op": N_("operation"),
    "why": N_("reason"),
    "reverts": N_("undoes change"),
    "fields": N_("what changed"),
    "records": N_("records"),
    "field": N_("field"),
    "value": N_("value"),
    "code": N_("code"),
    "category_name": N_("category name"),
    "generics": N_("generic terms"),
    "unique within": N_("unique within"),
    "group": N_("same-sound group"),
    "basis": N_("legal basis"),
    "rule": N_("rule"),
    "severity": N_("severity"),
    "checks": N_("what it checks"),
    # the naming-rule report (geoplan.gazetteer.naming) and its summary
    "message": N_("problem"),
    "related_ids": N_("related IDs"),
    "what": N_("what it checks"),
    "count": N_("count"),
}

#: coded values of a column → their reading
VALUES = {
    "status": {"current": N_("in use"), "retired": N_("retired")},
    "op": {"add": N_("add"), "rename": N_("rename"), "retire": N_("retire"), "merge": N_("merge"),
           "split": N_("split"), "move": N_("move"), "edit": N_("edit"), "revert": N_("revert"),
           "import": N_("import"), "pronunciation": N_("pronunciation"), "heritage-add": N_("heritage listing"),
           "heritage-remove": N_("heritage delisting")},
    "match": {"exact": N_("exact"), "prefix": N_("prefix"), "pinyin": N_("pinyin"), "initials": N_("initials"),
              "same sound": N_("same sound"), "fuzzy": N_("similar"), "fuzzy pinyin": N_("similar pinyin"),
              "former name": N_("former name")},
    "severity": {"error": N_("error"), "warning": N_("warning")},
    # the category groups of `gaz categories`: names in one group are compared with each other
    "group": {"county": N_("county-level divisions"), "township": N_("township-level divisions"),
              "village": N_("villages and communities"), "residential": N_("residential areas"),
              "settlement": N_("natural villages"), "road": N_("streets and roads"), "highway": N_("highways"),
              "bridge": N_("bridges and tunnels"), "mountain": N_("mountains"), "water": N_("rivers and lakes"),
              "heritage": N_("memorial sites and historic sites"), "facility": N_("public facilities")},
    "unique within": {"all": N_("the whole gazetteer"), "province": N_("the same province"),
                      "city": N_("the same prefecture-level city"), "county": N_("the same county"),
                      "township": N_("the same township")},
}


def _t(message: str, lang: str | None) -> str:
    return catalog(lang).gettext(message)


def header(column: str, lang: str | None = None) -> str:
    """The header of ``column`` in ``lang`` (default: the current language; the key itself when it has no label)."""
    return _t(COLUMNS[column], lang) if column in COLUMNS else column


def value(column: str, v, lang: str | None = None):
    """A coded value of ``column`` in ``lang`` (default: the current language); other values unchanged."""
    table = VALUES.get(column)
    if table is None or not isinstance(v, str):
        return v
    if v in table:
        return _t(table[v], lang)
    if v.endswith(" prefix") and v[:-7] in table:  # a search hit on the start of a name, its pinyin …
        return _t(N_("{how} (prefix)"), lang).format(how=_t(table[v[:-7]], lang))
    return v


def for_reading(df, lang: str | None = None):
    """``df`` with translated headers and coded values, for a person to read (never for ``--json``).

    Parameters
    ----------
    df : pandas.DataFrame
        A gazetteer table with the stable English keys as columns.
    lang : str, optional
        ``"zh_CN"`` or ``"en"``; default the current language.

    Returns
    -------
    pandas.DataFrame
        A copy; ``df`` is not changed.
    """
    out = df.copy()
    for c in out.columns:
        if c in VALUES:
            out[c] = [value(c, v, lang) for v in out[c]]
        if out[c].dtype.kind == "O":  # an empty field reads as empty, not "None" (nor "NaN" in a pandas 3 str column)
            out[c] = out[c].where(out[c].notna(), "")
    return out.rename(columns={c: header(c, lang) for c in out.columns})
