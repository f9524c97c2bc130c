"""Inspection planning on the sample county: due markers, plan constraints, forms round trip."""

import openpyxl
import pandas as pd
import pytest

from geoplan.inspection import forms
from geoplan.inspection import planning as inspection
from geoplan.errors import ValidationError
from geoplan.layers.sample import load_sample


@pytest.fixture(scope="module")
def county():
    return load_sample("330624")


@pytest.fixture(scope="module")
def result(county):
    return inspection.plan_for_county(county, 2, time_limit=2, as_of="2025-03-01", due_lines=["3068", "3065"])


def test_due_markers_five_year_cycle(county):
    m = county["boundary_markers"]
    due = inspection.due_markers(m, as_of="2025-03-01")
    last = pd.to_datetime(m.set_index("marker_id")["last_inspected"])
    expected = last.isna() | (last <= pd.Timestamp("2020-03-01"))
    assert (due["due"] == expected.reindex(due.index)).all()
    assert due["due"].any() and not due["due"].all()
    listed = inspection.due_markers(m, marker_ids=["3065001Q"])
    assert listed["due"].sum() == 1
    from geoplan import i18n

    i18n.set_language("en")  # the message is Chinese by default, English with --lang en
    try:
        with pytest.raises(inspection.InspectionError, match="Unknown marker"):
            inspection.due_markers(m, marker_ids=["9999001Q"])
    finally:
        i18n.set_language(None)
    with pytest.raises(inspection.InspectionError, match="未知的界桩编号"):
        inspection.due_markers(m, marker_ids=["9999001Q"])


def test_plan_constraints(result, county):
    m = county["boundary_markers"]
    due = set(m.loc[m["line_code"].isin(["3068", "3065"]), "marker_id"])
    planned = list(result.visits["marker_id"])
    assert len(planned) == len(set(planned))                                # each marker once
    assert set(planned) | set(result.unreachable.index) == due              # every due marker accounted for
    day = result.params["workday_min"]
    assert (result.routes["total_min"] <= day + 0.5).all()                  # no day over the limit
    for r in result.routes.itertuples():
        v = result.visits[result.visits.route_id == r.route_id]
        # the day's minutes add up: drive (incl. the way back) + walk + service
        assert r.total_min == pytest.approx(r.drive_min + r.walk_min + r.service_min, abs=0.2)
        assert r.service_min == pytest.approx(v["service_min"].sum())
        assert list(v["order"]) == list(range(1, len(v) + 1))
        assert list(v["arrival"]) == sorted(v["arrival"])
        assert r.start == "08:00"
        # the road path starts and ends at the team's base
        first = result.paths[(r.route_id, 1)][0]
        last_leg = max(k[1] for k in result.paths if k[0] == r.route_id)
        end = result.paths[(r.route_id, last_leg)][-1]
        assert first == pytest.approx(end)
    import chinese_calendar
    assert result.routes["date"].map(chinese_calendar.is_workday).all()


def test_pairs_share_a_stop(result):
    v = result.visits
    for mid in v.loc[v["marker_type"] == "B", "marker_id"]:
        a = mid[:-1] + "A"
        if a in set(v["marker_id"]):
            assert v.set_index("marker_id").loc[a, "stop"] == v.set_index("marker_id").loc[mid, "stop"]


def test_unreachable_markers_reported(county):
    res = inspection.plan_for_county(county, 1, time_limit=1, as_of="2025-03-01", due_lines=["3068"],
                                     max_walk_m=300)
    assert len(res.unreachable) > 0
    assert res.unreachable["reason"].str.contains("离最近道路超过0.3公里").all()
    assert not set(res.unreachable.index) & set(res.visits["marker_id"])


def test_save_load_round_trip(result, tmp_path):
    p = tmp_path / "plan.gpkg"
    result.save(p)
    back = inspection.InspectionResult.load(p)
    assert list(back.visits["marker_id"]) == list(result.visits["marker_id"])
    assert back.routes["total_min"].tolist() == result.routes["total_min"].tolist()
    assert len(back.paths) == len(result.paths)


def _fill(result, tmp_path, rows, name="filled.xlsx"):
    src = forms.write_forms_xlsx(result, tmp_path / "forms.xlsx")
    wb = openpyxl.load_workbook(src)
    ws = wb.active
    col = {c.value: c.column for c in ws[1]}
    col = {en: col[forms.form_header(en)] for en, _msgid in forms.FORM_COLUMNS}
    for k, values in enumerate(rows, start=2):
        for key, val in values.items():
            ws.cell(k, col[key]).value = val
    out = tmp_path / name
    wb.save(out)
    return out


def test_import_updates_and_lists_repairs(result, tmp_path):
    v = result.visits
    moved = v.iloc[1]
    path = _fill(result, tmp_path, [
        dict(condition="完好", inspected="2025-03-03", lettering_ok="是"),
        dict(condition="移位", measured_lon=moved.lon + 0.001, measured_lat=moved.lat, inspected="2025-03-03"),
        dict(condition="missing", inspected="2025-03-03"),
    ])
    imp = inspection.import_results(result, path)
    h = imp.history.set_index("marker_id")
    assert h.loc[v.iloc[2].marker_id, "condition"] == "丢失"
    # 0.001° of longitude at 29.4°N is about 97 m
    assert h.loc[moved.marker_id, "displacement_m"] == pytest.approx(97, abs=3)
    assert set(imp.repairs["marker_id"]) == {moved.marker_id, v.iloc[2].marker_id}
    work = imp.repairs.set_index("marker_id")
    d = h.loc[moved.marker_id, "displacement_m"]
    assert work.loc[moved.marker_id, "work"] == f"复位（位移 {d:.1f} 米）"
    assert work.loc[moved.marker_id, "action"] == "复位"
    assert work.loc[v.iloc[2].marker_id, "action"] == "补设"
    mk = imp.markers.set_index("marker_id")
    assert mk.loc[moved.marker_id, "condition"] == "移位"
    assert pd.Timestamp(mk.loc[moved.marker_id, "last_inspected"]) == pd.Timestamp("2025-03-03")
    assert len(imp.remaining) == len(v) - 3
    new = inspection.replan(result, imp, time_limit=1)
    assert sorted(new.visits["marker_id"]) == sorted(imp.remaining)


def test_bad_form_changes_nothing(result, tmp_path):
    path = _fill(result, tmp_path, [
        dict(marker_id="9999001Q", condition="完好"),
        dict(condition="挪了"),
        dict(condition="移位"),
    ], name="bad.xlsx")
    before = result.markers.copy()
    with pytest.raises(ValidationError) as err:
        inspection.import_results(result, path)
    cols = err.value.columns()
    assert {"界桩编号", "界桩状况", "实测经度"} <= cols
    assert "第3行" in str(err.value)
    pd.testing.assert_frame_equal(result.markers, before)


def test_csv_form_and_gpx(result, tmp_path):
    t = forms.form_table(result)
    t.loc[0, "condition"] = "完好"
    p = tmp_path / "f.csv"
    t.to_csv(p, index=False, encoding="utf-8-sig")
    imp = inspection.import_results(result, p)
    assert list(imp.history["marker_id"]) == [t.loc[0, "marker_id"]]
    files = forms.write_gpx(result, tmp_path / "gpx")
    assert len(files) == len(result.routes)
    import xml.etree.ElementTree as ET
    root = ET.parse(files[0]).getroot()
    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    n = int(result.routes.iloc[0]["n_markers"])
    assert len(root.findall("g:wpt", ns)) == n + 1
    assert len(root.findall("g:trk/g:trkseg/g:trkpt", ns)) > n
