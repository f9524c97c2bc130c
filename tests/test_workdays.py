"""Working days: Chinese public holidays and 调休 from chinesecalendar, plus blackout dates."""

import datetime as dt

import chinese_calendar
import pytest

from geoplan.inspection import planning as inspection
from geoplan.inspection.workdays import parse_blackout, working_days
from geoplan.layers.sample import load_sample


def test_working_days_follow_the_official_calendar():
    days = working_days("2026-09-30", 12)
    # independent reference: the package's own day-by-day answer
    ref, d = [], dt.date(2026, 9, 30)
    while len(ref) < 12:
        if chinese_calendar.is_workday(d):
            ref.append(d)
        d += dt.timedelta(days=1)
    assert days == ref
    assert not any(dt.date(2026, 10, 1) <= x <= dt.date(2026, 10, 7) for x in days)


def test_blackout_dates_are_skipped():
    off = parse_blackout(["2026-10-08..2026-10-09", "2026-10-12"])
    days = working_days("2026-09-30", 3, blackout=off)
    assert not off & set(days)
    assert days[0] == dt.date(2026, 9, 30)
    with pytest.raises(inspection.InspectionError):
        parse_blackout(["2026-13-40"])


def test_plan_across_national_day_2026():
    county = load_sample("330624")
    res = inspection.plan_for_county(county, 1, time_limit=2, start_date="2026-09-30", all_markers=True,
                                     blackout=["2026-10-12"])
    dates = set(res.routes["date"])
    assert len(res.routes) >= 6
    holiday = {dt.date(2026, 10, 1) + dt.timedelta(days=k) for k in range(7)}
    assert not dates & holiday
    assert dt.date(2026, 10, 12) not in dates
    assert all(chinese_calendar.is_workday(d) for d in dates)
    # the 调休 Saturday the package marks as a working day is used
    tiaoxiu = [d for d in sorted(dates) if d.weekday() >= 5]
    marked = [d for d in (dt.date(2026, 10, 10),) if chinese_calendar.is_workday(d)]
    assert marked and set(marked) <= set(tiaoxiu)
