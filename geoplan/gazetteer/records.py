"""Place-name records: the columns, value checks and small helpers shared by the gazetteer modules."""

from __future__ import annotations

import datetime as _dt
import getpass
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from geoplan.errors import GeoplanError

ENV_VAR = "GEOPLAN_GAZETTEER"
DEFAULT_PATH = "gazetteer.sqlite"
SCHEMA_VERSION = "1"
BUSY_TIMEOUT_S = 60.0
STATUSES = ("current", "retired")
HERITAGE_LEVELS = ("国家级", "省级", "市级", "县级")

#: Columns of the ``names`` table, in order.
COLUMNS = ("name_id", "name", "specific", "generic", "category", "parent_code", "geometry", "roman",
           "pron_override", "status", "valid_from", "valid_to", "former_names", "origin", "meaning",
           "heritage_level", "heritage_year", "sources", "pinyin_key", "initials")
JSON_COLUMNS = ("former_names", "sources")
#: Columns a user may set directly (the rest are derived or managed by operations).
EDITABLE = ("name", "specific", "generic", "category", "parent_code", "geometry", "pron_override",
            "valid_from", "valid_to", "origin", "meaning", "heritage_level", "heritage_year", "sources", "status")
# Set forms for the per-row membership tests of bulk imports.
_COLUMN_SET = frozenset(COLUMNS)
_EDITABLE_SET = frozenset(EDITABLE)
_JSON_POS = tuple((COLUMNS.index(c), c) for c in JSON_COLUMNS)
# Reused encoders: json.dumps builds a new encoder for every call with
# non-default options, which shows at tens of thousands of records.
_RECORD_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True)
_LIST_JSON = json.JSONEncoder(ensure_ascii=False)
#: Secondary indexes of ``names``; a bulk import into a (nearly) empty

class GazetteerError(GeoplanError):
    """A gazetteer command cannot be carried out (unknown name, bad value, conflict); nothing was changed."""


class RecordError(GazetteerError):
    """A field of a place-name record has a bad value."""


class NameNotFoundError(GazetteerError):
    """No record has that ID, current name or former name."""


def default_path(db=None) -> Path:
    """The gazetteer file: ``db`` if given, else ``$GEOPLAN_GAZETTEER``, else ``./gazetteer.sqlite``."""
    return Path(db or os.environ.get(ENV_VAR) or DEFAULT_PATH)


def today() -> str:
    return _dt.date.today().isoformat()


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
        raise RecordError(f"{what} {text!r} is not a date: write it as YYYY-MM-DD, e.g. 2019-01-01.") from None


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
            raise RecordError(f"geometry {str(value)[:60]!r} is not valid WKT, e.g. 'POINT (120.90 29.50)'.") from None
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type not in ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"):
        raise RecordError(f"geometry type {geom.geom_type} is not a point, line or polygon.")
    x0, y0, x1, y1 = geom.bounds
    if not (73 <= x0 <= x1 <= 136 and 3 <= y0 <= y1 <= 54):
        raise RecordError(
            f"geometry {geom.wkt[:60]} is not longitude/latitude in China (CGCS2000): x must be 73–136 and "
            "y 3–54. Projected (metre) coordinates or swapped x/y?")
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
    return None if rec is None else _RECORD_JSON.encode(rec)


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
        raise RecordError(f"heritage year {v!r} is not a year") from None


def _check_heritage(rec: dict) -> None:
    rec["heritage_year"] = _year(rec.get("heritage_year"))
    lvl, yr = rec.get("heritage_level"), rec["heritage_year"]
    if lvl and lvl not in HERITAGE_LEVELS:
        raise RecordError(f"heritage level {lvl!r} must be one of {', '.join(HERITAGE_LEVELS)}.")
    if yr is not None and not (2004 <= yr <= _dt.date.today().year):
        raise RecordError(f"heritage year {yr} is not plausible (the 地名文化遗产 lists start in 2004).")
    if bool(lvl) != (yr is not None):
        raise RecordError("a heritage listing needs both a level and a year.")


def _former_start(rec: dict) -> str | None:
    # Only the place's own earlier names mark when its current name began;
    # names it absorbed in a merge (or came from in a split) do not.
    ends = [f.get("to") for f in rec["former_names"]
            if f.get("to") and not f.get("merged_from") and not f.get("split_from")]
    return max(ends) if ends else rec.get("valid_from")


def _encode(rec: dict) -> tuple:
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
        return f"added {after['name']} ({after['category']}, parent {after.get('parent_code') or '-'})"
    if after is None:
        return f"removed {before['name']}"
    parts = []
    for c in COLUMNS:
        if c in ("roman", "pinyin_key", "initials", "specific", "generic"):
            continue
        if before.get(c) != after.get(c):
            b, a = before.get(c), after.get(c)
            if c == "former_names":
                parts.append("former names: " + ", ".join(f["name"] for f in a or []))
            else:
                parts.append(f"{c}: {b if b not in (None, '') else '-'} → {a if a not in (None, '') else '-'}")
    return "; ".join(parts)

