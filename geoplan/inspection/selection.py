"""Which markers are due (界桩检查的对象): the constants of the inspection and :func:`due_markers`.

The five-year programme of whole lines is :mod:`geoplan.inspection.programme`;
this module answers the narrower question of which markers a campaign visits.

Examples in this module use ``county = gp.load_sample("330624")`` (``import geoplan as gp``); pytest
builds them once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import datetime as _dt

import geopandas as gpd
import numpy as np
import pandas as pd

from geoplan.errors import GeoplanError
from geoplan.i18n import _
from geoplan.layers.schema import MARKER_ID_RE

#: Years between two regular joint inspections of a line.
CYCLE_YEARS = 5
#: Minutes at a marker by its type letter: checking, cleaning, photographing,
#: measuring the reference objects and filling in the form. A single (Q)
#: marker takes longer because its reference objects are farther apart.
SERVICE_MINUTES = {"A": 15.0, "B": 15.0, "C": 15.0, "D": 15.0, "E": 15.0, "Q": 20.0}
MARKER_TYPES = {"A": "同号双立", "B": "同号双立", "C": "同号三立", "D": "同号三立", "E": "同号三立",
                "Q": "单立"}
#: Walking speed on hill paths between the parked car and the marker.
WALK_SPEED_KMH = 3.0
#: Markers farther than this from every road are left out and reported.
MAX_WALK_M = 3000.0
#: Markers closer than this to each other are visited in one stop.
STOP_RADIUS_M = 60.0
WORKDAY_HOURS = 8.0
DAY_START = _dt.time(8, 0)
#: Conditions that need repair work after an inspection.
NEEDS_REPAIR = ("损坏", "移位", "丢失")
#: A marker reported as moved but measured closer than this to its
#: registered position is within survey error; the form still says 移位.
MOVED_TOLERANCE_M = 1.0


class InspectionError(GeoplanError):
    """An inspection plan cannot be made as asked (no markers, no base, bad arguments).

    Examples
    --------
    >>> due_markers(county["boundary_markers"], lines=["9999"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geoplan.inspection.selection.InspectionError: 界线 9999 上没有界桩；有界桩的界线为 3065, 3068, 3138, 3139, 3140, 3141, 7001, 7002, 7003, 7004, 7005, 7006, 7007, 7008, 7009, 7010, 7011, 7012, 7013, 7014, 7015, 7016, 7017, 7018, 7019。
    """


# --------------------------------------------------------------------------
# Which markers are due
# --------------------------------------------------------------------------

def marker_type(marker_id: str) -> str:
    """Type letter (A–E, Q) of a marker ID such as ``3301001A``.

    Examples
    --------
    >>> marker_type("3140003A"), marker_type("7005001Q")
    ('A', 'Q')
    """
    m = MARKER_ID_RE.fullmatch(str(marker_id))
    if not m:
        raise InspectionError(_("{value!r} is not a marker ID (4-digit line + 3-digit number + A–E/Q).").format(
            value=marker_id))
    return m.group(3)


def due_markers(markers: gpd.GeoDataFrame, as_of=None, cycle_years: int = CYCLE_YEARS,
                lines=None, marker_ids=None) -> pd.DataFrame:
    """Which markers are due for inspection, and why.

    Parameters
    ----------
    markers : geopandas.GeoDataFrame
        ``boundary_markers`` layer.
    as_of : date-like, optional
        Planning date (default today).
    cycle_years : int
        A marker is due when its last inspection is this many years old, or
        it was never inspected.
    lines : iterable of str, optional
        Inspect these whole lines (e.g. after road works), due or not.
    marker_ids : iterable of str, optional
        Inspect exactly these markers (e.g. after a landslide); overrides the cycle.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``marker_id``: ``line_code``, ``last_inspected``,
        ``next_due`` (date), ``due`` (bool) and ``reason``.

    Raises
    ------
    InspectionError
        Unknown line codes or marker IDs.

    Examples
    --------
    >>> d = due_markers(county["boundary_markers"], as_of="2026-09-01")
    >>> len(d), int(d["due"].sum()), list(d.columns)
    (232, 51, ['line_code', 'last_inspected', 'next_due', 'due', 'reason'])
    >>> d.loc[d["due"], "reason"].iloc[0]
    '上次检查 2021-05-06，已满5年'
    """
    as_of = pd.Timestamp(as_of if as_of is not None else _dt.date.today()).normalize()
    df = pd.DataFrame({
        "line_code": markers["line_code"].astype(str).to_numpy(),
        "last_inspected": pd.to_datetime(markers["last_inspected"]).to_numpy(),
    }, index=pd.Index(markers["marker_id"].astype(str), name="marker_id"))
    last = pd.to_datetime(df["last_inspected"])
    df["next_due"] = last + pd.DateOffset(years=cycle_years)
    never = last.isna()
    cycle_due = never | (df["next_due"] <= as_of)
    reason = np.where(never, _("never inspected"),
                      [_("last inspected {date:%Y-%m-%d}, {years} years ago or more").format(date=d, years=cycle_years)
                       if ok else "" for d, ok in zip(last.fillna(as_of), cycle_due)])
    due = cycle_due.to_numpy().copy()
    if marker_ids is not None:
        wanted = [str(m) for m in marker_ids]
        unknown = sorted(set(wanted) - set(df.index))
        if unknown:
            raise InspectionError(_("Unknown marker IDs: {ids}. Check the list against the markers layer.").format(
                ids=", ".join(unknown[:10])))
        due = df.index.isin(wanted)
        reason = np.where(due, _("inspection asked for"), "")
    elif lines is not None:
        wanted = [str(x) for x in lines]
        unknown = sorted(set(wanted) - set(df["line_code"]))
        if unknown:
            raise InspectionError(_("No markers on line(s) {lines}; the lines with markers are {known}.").format(
                lines=", ".join(unknown), known=", ".join(sorted(set(df["line_code"])))))
        on = df["line_code"].isin(wanted).to_numpy()
        reason = np.where(on, _("line asked for"), "")
        due = on
    df["due"] = due
    df["reason"] = np.where(due, reason, "")
    return df


