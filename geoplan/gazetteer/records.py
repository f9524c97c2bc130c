"""Place-name records: the columns, value checks and small helpers shared by the gazetteer modules."""

from __future__ import annotations

import datetime as _dt
import getpass
import json
import operator
import os
from pathlib import Path

import numpy as np
from geoplan.gazetteer.lazy_pandas import pd

from geoplan.errors import GeoplanError
from geoplan.gazetteer.labels import header, value
from geoplan.i18n import _

ENV_VAR = "GEOPLAN_GAZETTEER"
DEFAULT_PATH = "gazetteer.sqlite"
SCHEMA_VERSION = "2"  # 2 added the committee column (migrated on first writable open)
BUSY_TIMEOUT_S = 60.0
STATUSES = ("current", "retired")
HERITAGE_LEVELS = ("国家级", "省级", "市级", "县级")

#: Columns of the ``names`` table, in order.
COLUMNS = ("name_id", "name", "specific", "generic", "category", "parent_code", "geometry", "roman",
           "pron_override", "status", "valid_from", "valid_to", "former_names", "origin", "meaning",
           "heritage_level", "heritage_year", "sources", "pinyin_key", "initials", "committee")
JSON_COLUMNS = ("former_names", "sources")
#: Columns a user may set directly (the rest are derived or managed by operations).
EDITABLE = ("name", "specific", "generic", "category", "parent_code", "geometry", "pron_override",
            "valid_from", "valid_to", "origin", "meaning", "heritage_level", "heritage_year", "sources", "status",
            "committee")
# Set forms for the per-row membership tests of bulk imports.
_COLUMN_SET = frozenset(COLUMNS)
_EDITABLE_SET = frozenset(EDITABLE)
_JSON_POS = tuple((COLUMNS.index(c), c) for c in JSON_COLUMNS)
_ALL_COLUMNS = operator.itemgetter(*COLUMNS)
# Reused encoders: json.dumps builds a new encoder for every call with
# non-default options, which shows at tens of thousands of records.
_RECORD_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True)
_LIST_JSON = json.JSONEncoder(ensure_ascii=False)
_SORTED_HEADS = tuple((json.dumps(c) + ": ", c) for c in sorted(COLUMNS))
_json_text = json.encoder.encode_basestring  # what the encoders above write for a str (ensure_ascii=False)


class GazetteerError(GeoplanError):
    """A gazetteer command cannot be carried out (unknown name, bad value, conflict); nothing was changed."""


class RecordError(GazetteerError):
    """A field of a place-name record has a bad value."""


class NameNotFoundError(GazetteerError):
    """No record has that ID, current name or former name."""


def default_path(db=None) -> Path:
    """The gazetteer file: ``db`` if given, else ``$GEOPLAN_GAZETTEER``, else ``./gazetteer.sqlite``."""
    return Path(db or os.environ.get(ENV_VAR) or DEFAULT_PATH)


#: China Standard Time (UTC+8, no daylight saving since 1991): the committee's clock for the change log.
CHINA_TZ = _dt.timezone(_dt.timedelta(hours=8), "Asia/Shanghai")


def now_text() -> str:
    """The current moment as ISO 8601 in Asia/Shanghai time, e.g. ``2024-05-06T09:30:00+08:00``."""
    return _dt.datetime.now(CHINA_TZ).isoformat(timespec="seconds")


def local_time_text(stamp: str | None) -> str:
    """A stored change-log time shown in Asia/Shanghai time (``2024-05-06 09:30``); older UTC entries converted.

    Examples
    --------
    >>> local_time_text("2024-05-06T01:30:00+00:00")
    '2024-05-06 09:30'
    """
    if not stamp:
        return ""
    try:
        t = _dt.datetime.fromisoformat(str(stamp))
    except ValueError:
        return str(stamp)
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.timezone.utc)
    return t.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")


def today() -> str:
    """Today's date in China (the day a change takes effect by default)."""
    return _dt.datetime.now(CHINA_TZ).date().isoformat()


def check_date(value, what: str = "date") -> str | None:
    """Normalise an ISO date (``2019-01-01``); None/'' stay None.

    Raises
    ------
    RecordError
        For anything that is not a real calendar date.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == "":
        return None
    if isinstance(value, (_dt.date, pd.Timestamp)):
        return value.strftime("%Y-%m-%d")
    text = str(value).strip()
    try:
        return _dt.date.fromisoformat(text[:10] if len(text) > 10 and text[10] in "T " else text).isoformat()
    except ValueError:
        raise RecordError(_("{what} {text!r} is not a date: write it as YYYY-MM-DD, e.g. 2019-01-01.").format(
            what=what, text=text)) from None


def check_geometry(value) -> str | None:
    """Normalise a geometry given as WKT (or a shapely geometry) to WKT; None stays None.

    Raises
    ------
    RecordError
        If it is not valid WKT, not a point/line/polygon, or not longitude/latitude in China.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == "":
        return None
    import shapely  # after the blank test: most imported rows have no geometry

    if isinstance(value, shapely.Geometry):
        geom = value
    else:
        try:
            geom = shapely.from_wkt(str(value))
        except Exception:  # shapely raises GEOSException for malformed WKT
            raise RecordError(_("The geometry {wkt!r} is not valid WKT, e.g. 'POINT (120.90 29.50)'.").format(
                wkt=str(value)[:60])) from None
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type not in ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"):
        raise RecordError(_("The geometry type {type} is not a point, line or polygon.").format(type=geom.geom_type))
    x0, y0, x1, y1 = geom.bounds
    if not (73 <= x0 <= x1 <= 136 and 3 <= y0 <= y1 <= 54):
        raise RecordError(_(
            "The geometry {wkt} is not longitude/latitude in China (CGCS2000): x must be 73–136 and "
            "y 3–54. Projected (metre) coordinates or swapped x/y?").format(wkt=geom.wkt[:60]))
    return shapely.to_wkt(geom, rounding_precision=7, trim=True)


def township_category(code: str) -> str:
    """Category of a township-level unit from its official 9-digit code.

    Codes 001–399 in the township segment are 街道, 镇 and 乡 (category
    1120); 400–599 are units combining government and enterprise (农场,
    林场, 开发区 …), category 1190 — the NBS code rules.
    """
    seg = str(code)[6:9]
    return "1190" if seg.isdigit() and int(seg) >= 400 else "1120"


def _dump(rec: dict | None) -> str | None:
    """``rec`` as the change log stores it: JSON with sorted keys, non-ASCII as is."""
    if rec is None:
        return None
    if rec.keys() != _COLUMN_SET:
        return _RECORD_JSON.encode(rec)
    # A record has the same keys every time: write them in their sorted order with the text of each value
    # (byte for byte what the encoder writes), twice as quick as the encoder sorting every record's keys.
    parts = []
    for head, c in _SORTED_HEADS:
        v = rec[c]
        parts.append(head + ("null" if v is None else _json_text(v) if type(v) is str else
                             "[]" if type(v) is list and not v else _RECORD_JSON.encode(v)))
    return "{" + ", ".join(parts) + "}"


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return f"uid{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def _blank(v) -> bool:
    if v is None:
        return True
    if isinstance(v, str):
        return not v.strip()
    return v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and not v.strip()) \
        or v is pd.NA or v is pd.NaT


def _cell(v):
    """An imported cell: None if blank, else stripped text (lists and dicts as they are)."""
    if isinstance(v, str):  # the common case first: a plain list comprehension beats Series.map here
        v = v.strip()
        return v or None
    if _blank(v):
        return None
    return v if isinstance(v, (list, dict)) else str(v).strip()


def _clean(v) -> str:
    if v is None:  # most optional fields of most rows: skip _blank's tests
        return ""
    if isinstance(v, str):
        return " ".join(v.split())
    return "" if _blank(v) else " ".join(str(v).split())


def _year(v) -> int | None:
    if _blank(v):
        return None
    try:
        return int(float(str(v)))
    except ValueError:
        raise RecordError(_("The heritage year {year!r} is not a year.").format(year=v)) from None


def _check_heritage(rec: dict) -> None:
    rec["heritage_year"] = _year(rec.get("heritage_year"))
    lvl, yr = rec.get("heritage_level"), rec["heritage_year"]
    if lvl and lvl not in HERITAGE_LEVELS:
        raise RecordError(_("The heritage level {level!r} must be one of {levels}.").format(
            level=lvl, levels=", ".join(HERITAGE_LEVELS)))
    if yr is not None and not (2004 <= yr <= _dt.date.today().year):
        raise RecordError(_("The heritage year {year} is not plausible (the place-name heritage lists "
                              "start in 2004).").format(year=yr))
    if bool(lvl) != (yr is not None):
        raise RecordError(_("A heritage listing needs both a level and a year."))


def village_category(code: str) -> str:
    """Category of a village-level unit from its official 12-digit code (the NBS rules for the last 3 digits).

    001–199 are 居民委员会 (communities, category 1210), 200–399 村民委员会
    (administrative villages, 1220); 400 and above are 类似居委会/类似村委会
    units of farms and development zones (1210 for 400–499, 1220 for 500+).

    Examples
    --------
    >>> village_category("330624104201"), village_category("330624001001")
    ('1220', '1210')
    """
    seg = str(code)[9:12]
    if not seg.isdigit():
        return "1220"
    n = int(seg)
    return "1210" if n < 200 or 400 <= n < 500 else "1220"


def category_from_code(code) -> str | None:
    """Category from an official division code: 9 digits → :func:`township_category`, 12 → :func:`village_category`."""
    text = str(code or "").strip()
    if text.isdigit() and len(text) == 9:
        return township_category(text)
    if text.isdigit() and len(text) == 12:
        return village_category(text)
    return None


#: Committee suffixes of the statistical village-level names, longest first.
COMMITTEE_SUFFIXES = ("村民委员会", "居民委员会", "村委会", "居委会")


def split_committee(name: str) -> tuple[str, str | None]:
    """Separate a committee name into the place name and the committee (organisation) name.

    The statistical lists name the committee (对面山村委会, 多福巷社区居委会);
    the place is 对面山村, 多福巷社区. A 村民委员会/村委会 keeps its 通名 村;
    a 居民委员会/居委会 whose name has no 通名 (大塘坑居委会) is the
    community 大塘坑社区 — the 通名 社区 that 居委会 areas have carried since
    the community reform; the committee's own name is kept verbatim.

    Returns
    -------
    (str, str or None)
        The place name and the full committee name (None if ``name`` is not a committee name).

    Examples
    --------
    >>> split_committee("对面山村委会")
    ('对面山村', '对面山村委会')
    >>> split_committee("沟口子村村民委员会")
    ('沟口子村', '沟口子村村民委员会')
    >>> split_committee("多福巷社区居委会")
    ('多福巷社区', '多福巷社区居委会')
    >>> split_committee("大塘坑居委会")
    ('大塘坑社区', '大塘坑居委会')
    >>> split_committee("回山镇")
    ('回山镇', None)
    """
    for suffix in COMMITTEE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            stem = name[: -len(suffix)]
            if suffix.startswith("村") and not stem.endswith("村"):
                stem += "村"
            elif suffix.startswith("居") and not stem.endswith("社区"):
                stem += "社区"
            return stem, name
    return name, None


def _former_start(rec: dict) -> str | None:
    # Only the place's own earlier names mark when its current name began;
    # names it absorbed in a merge (or came from in a split) do not.
    ends = [f.get("to") for f in rec["former_names"]
            if f.get("to") and not f.get("merged_from") and not f.get("split_from")]
    return max(ends) if ends else rec.get("valid_from")


def _encode(rec: dict) -> tuple:
    try:
        row = list(_ALL_COLUMNS(rec))
    except KeyError:  # a record missing some columns: None for those
        row = [rec.get(c) for c in COLUMNS]
    for k, c in _JSON_POS:
        row[k] = _LIST_JSON.encode(rec[c]) if rec[c] else "[]"
    return tuple(row)


def _decode(row) -> dict:
    rec = dict(zip(COLUMNS, row))
    for c in JSON_COLUMNS:
        rec[c] = json.loads(rec[c]) if rec[c] else []
    return rec


def _load(text):
    return None if text is None else json.loads(text)


def _diff(before: dict | None, after: dict | None) -> str:
    if before is None and after is None:
        return ""
    if before is None:
        return _("added {name} ({category}, under {parent})").format(
            name=after["name"], category=after["category"], parent=after.get("parent_code") or "-")
    if after is None:
        return _("removed {name}").format(name=before["name"])
    parts = []
    for c in COLUMNS:
        if c in ("roman", "pinyin_key", "initials", "specific", "generic"):
            continue
        if before.get(c) != after.get(c):
            b, a = before.get(c), after.get(c)
            if c == "former_names":
                parts.append(f"{header(c)}: " + ", ".join(f["name"] for f in a or []))
            else:
                b, a = (value(c, v) if v not in (None, "") else "-" for v in (b, a))
                parts.append(f"{header(c)}: {b} → {a}")
    return "; ".join(parts)



def _official_codes() -> tuple[frozenset, frozenset, str]:
    """The official township and county codes shipped with geoplan, and their edition."""
    global _OFFICIAL
    if _OFFICIAL is None:
        from geoplan.layers import divisions

        t = divisions.official_townships()
        # 6-digit codes of counties, and of cities (3306 → 330600) and provinces (33 → 330000).
        six = set(t["county_code"]) | {c + "00" for c in t["city_code"]} | {c + "0000" for c in t["province_code"]}
        _OFFICIAL = (frozenset(t["code"]), frozenset(six), divisions.EDITION)
    return _OFFICIAL


_OFFICIAL = None


def parent_problem(code: str | None, known=()) -> str | None:
    """Why ``code`` cannot be a parent, or None if it can.

    A parent is a division code in the official list shipped with geoplan
    (6-digit county, 9-digit township, or a 12-digit village code whose
    township is official), or the ID of a record in the gazetteer (``known``:
    a container, or a callable answering for one ID) — a unit created after
    the list's edition is added to the gazetteer first.

    Examples
    --------
    >>> parent_problem("330624104") is None
    True
    >>> "330624999" in parent_problem("330624999")
    True
    """
    if not code:
        return None
    towns, counties, edition = _official_codes()  # the cheap set look-ups first
    if len(code) == 6 and code in counties:
        return None
    if len(code) == 9 and code in towns:
        return None
    if len(code) == 12 and code[:9] in towns:
        return None
    if (known(code) if callable(known) else code in known):
        return None
    level = _("county-level (or prefecture or province)") if len(code) == 6 else _("township-level")
    where = code[:9] if len(code) == 12 else code
    return _("The parent code {code} does not exist: {where} is neither among the {level} division codes of the "
             "National Bureau of Statistics ({edition}) nor a record of this gazetteer. Check the code (e.g. "
             "330624104 is 回山镇 of 新昌县), or add that parent unit to the gazetteer first.").format(
        code=code, where=where, level=level, edition=edition)
