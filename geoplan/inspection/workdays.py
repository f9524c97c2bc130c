"""Working days for field teams: Chinese public holidays, 调休 working weekends and blackout dates.

The State Council publishes each year's holidays and the weekends worked in
exchange (调休) in December; :mod:`chinese_calendar` (the ``chinesecalendar``
package) carries them. A year it does not know yet falls back to Monday to
Friday, and the plan says so in its parameters, so that a planner can check
the dates once the notice is out.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable

import pandas as pd

from geoplan.i18n import N_, _
from geoplan.inspection.selection import InspectionError


def parse_date(value, what: str = N_("date")):
    """A date from ``YYYY-MM-DD`` (or a date), or an :class:`InspectionError` naming ``what``.

    Examples
    --------
    >>> parse_date("2026-10-08")
    datetime.date(2026, 10, 8)
    >>> parse_date("2026-13-01", "开始日期")
    Traceback (most recent call last):
    ...
    geoplan.inspection.selection.InspectionError: 开始日期 '2026-13-01' 不是日期；请写成 2026-10-08。
    """
    if value is None:
        return None
    try:
        return pd.Timestamp(value).date()
    except (ValueError, TypeError) as exc:
        raise InspectionError(_("{what} {value!r} is not a date; write it like 2026-10-08.").format(
            what=_(what), value=value)) from exc


def parse_blackout(values: Iterable[str] | None) -> set[_dt.date]:
    """Blackout dates from ``YYYY-MM-DD`` or ``YYYY-MM-DD..YYYY-MM-DD`` items (comma-separated allowed).

    >>> sorted(parse_blackout(["2026-09-28..2026-09-29", "2026-10-09"]))
    [datetime.date(2026, 9, 28), datetime.date(2026, 9, 29), datetime.date(2026, 10, 9)]
    """
    out: set[_dt.date] = set()
    for raw in values or ():
        for item in str(raw).replace("，", ",").split(","):
            item = item.strip()
            if not item:
                continue
            a, _sep, b = item.partition("..")
            try:
                lo = pd.Timestamp(a).date()
                hi = pd.Timestamp(b).date() if b else lo
            except (ValueError, TypeError) as exc:
                raise InspectionError(_("The day off {value!r} is not a date; write it like 2026-10-09 or "
                                        "2026-10-09..2026-10-12.").format(value=item)) from exc
            if hi < lo:
                raise InspectionError(_("The days off {value!r} end before they begin.").format(value=item))
            d = lo
            while d <= hi:
                out.add(d)
                d += _dt.timedelta(days=1)
    return out


def is_workday(day: _dt.date) -> tuple[bool, bool]:
    """Whether ``day`` is an official working day, and whether the calendar knew its year.

    Returns ``(workday, known)``; for a year the holiday package does not
    cover yet, ``workday`` is Monday–Friday and ``known`` is False.

    Examples
    --------
    >>> import datetime
    >>> is_workday(datetime.date(2026, 10, 1)), is_workday(datetime.date(2026, 10, 9))  # 国庆节, a Friday
    ((False, True), (True, True))
    """
    try:
        import chinese_calendar
    except ImportError:  # pragma: no cover - declared dependency
        return day.weekday() < 5, False
    try:
        return bool(chinese_calendar.is_workday(day)), True
    except NotImplementedError:
        return day.weekday() < 5, False


def working_days(start, n: int, *, workdays_only: bool = True, blackout: Iterable[_dt.date] = ()) -> list[_dt.date]:
    """The first ``n`` working days from ``start`` (inclusive).

    Parameters
    ----------
    start : date-like
    n : int
    workdays_only : bool
        False: every calendar day except blackout dates.
    blackout : iterable of date
        The user's own days off (meetings, flood season, the neighbour's holidays).

    >>> working_days("2026-09-30", 3)
    [datetime.date(2026, 9, 30), datetime.date(2026, 10, 8), datetime.date(2026, 10, 9)]
    """
    d = pd.Timestamp(start).date()
    off = set(blackout)
    out: list[_dt.date] = []
    guard = 0
    while len(out) < n:
        ok = d not in off and (not workdays_only or is_workday(d)[0])
        if ok:
            out.append(d)
        d += _dt.timedelta(days=1)
        guard += 1
        if guard > 3660 + 2 * n:
            raise InspectionError(_("Not enough working days within ten years; check the days off."))
    return out


def unknown_years(days: Iterable[_dt.date]) -> list[int]:
    """Years among ``days`` whose holidays the calendar package does not know (weekdays assumed).

    Examples
    --------
    >>> import datetime
    >>> unknown_years([datetime.date(2026, 1, 5), datetime.date(2099, 1, 5)])
    [2099]
    """
    return sorted({d.year for d in days if not is_workday(d)[1]})
