"""Line-by-line campaigns: the five-year programme, both sides, Chinese outputs, results imported twice."""

import itertools
import re

import numpy as np
import openpyxl
import pandas as pd
import pytest

from geoplan.inspection import forms
from geoplan.inspection import planning as inspection
from geoplan.inspection.programme import line_programme, line_workload, programme_summary
from geoplan.inspection.report import (campaign_report, write_plan_xlsx, write_report_pdf, write_report_xlsx,
                                       write_results_xlsx)
from geoplan.inspection.results import load_results, save_results
from geoplan.layers.sample import load_sample

CODES = ["330624", "330727"]
LATIN = re.compile(r"[A-Za-z_]{3,}")


@pytest.mark.parametrize("code", CODES)
def test_programme_every_line_once_even_and_not_late(code):
    c = load_sample(code)
    lines, markers = c["boundary_lines"], c["boundary_markers"]
    prog = line_programme(lines, markers, county_code=code, start_year=2026)
    # every line of the county, county-level and township, in exactly one year of the five
    assert sorted(prog["line_code"]) == sorted(lines["line_code"].astype(str))
    assert prog["year"].between(2026, 2030).all()
    assert {"县级", "乡级"} & set(prog["level"]) == {"乡级"} | ({"县级"} & set(lines["level"]))
    # no line more than one year after it is due
    assert (prog["year"] <= np.maximum(prog["due_year"], 2026) + 1).all()
    # the busiest year is as light as the due years allow: compare with the bound from
    # the lines that cannot move (overdue and due in the first year, at most one year late)
    load = programme_summary(prog).set_index("year")["team_days"]
    total = prog["team_days"].sum()
    assert load.max() <= max(int(np.ceil(total / 5)), prog["team_days"].max()) + 1
    # the lead alternates: this round's lead is the side that did not lead last time
    last = lines.set_index(lines["line_code"].astype(str))["lead_code"]
    for r in prog.itertuples():
        assert r.lead_code != last[r.line_code]


def test_programme_matches_brute_force_on_a_small_county():
    c = load_sample("330624")
    lines = c["boundary_lines"].iloc[:7]
    markers = c["boundary_markers"][c["boundary_markers"]["line_code"].isin(lines["line_code"])]
    prog = line_programme(lines, markers, county_code="330624", start_year=2026, years=3)
    w = line_workload(lines, markers).reindex(lines["line_code"].astype(str))["team_days"].to_numpy()
    due = (lines["last_inspected_year"].to_numpy() + 5)
    latest = np.clip(due + 1, 2026, 2028)
    best = np.inf
    for ys in itertools.product(range(3), repeat=len(lines)):
        if any(2026 + y > lt for y, lt in zip(ys, latest)):
            continue
        best = min(best, max(sum(w[i] for i in range(len(w)) if ys[i] == y) for y in range(3)))
    assert programme_summary(prog)["team_days"].max() == best


@pytest.fixture(scope="module")
def campaign():
    c = load_sample("330624")
    return c, inspection.plan_for_county(c, 2, time_limit=2, start_date="2026-09-30")


def test_campaign_plans_the_programme_years_lines_whole(campaign):
    c, res = campaign
    prog = line_programme(c["boundary_lines"], c["boundary_markers"], county_code="330624", start_year=2026)
    due = set(prog.loc[prog["year"] == 2026, "line_code"])
    m = c["boundary_markers"]
    expected = set(m.loc[m["line_code"].isin(due), "marker_id"])
    planned = list(res.visits["marker_id"])
    assert len(planned) == len(set(planned))
    assert set(planned) | set(res.unreachable.index) == expected
    # both sides: every team-day names the lead and the other side and where they meet
    for r in res.routes.itertuples():
        v = res.visits[res.visits["route_id"] == r.route_id]
        assert r.meet_at == v.iloc[0]["marker_id"] and r.meet_time == v.iloc[0]["arrival"]
        for lc in set(v["line_code"]):
            info = res.params["lines"][lc]
            for name in info["partner_names"]:
                assert name in r.partners
            assert info["lead_name"] in r.lead
    # a county line's other side is the neighbour county
    ln = res.params["lines"]
    county_lines = [k for k, v in ln.items() if v["level"] != "乡级"]
    assert county_lines and all("330624" not in ln[k]["partners"] for k in county_lines)


def test_plan_workbook_is_chinese_and_prints(campaign, tmp_path):
    _, res = campaign
    p = write_plan_xlsx(res, tmp_path / "plan.xlsx")
    wb = openpyxl.load_workbook(p)
    assert wb.sheetnames == ["组日安排", "访问顺序", "检查界线", "未安排界桩"]
    for ws in wb:
        hr = int(ws.print_title_rows.split(":")[0].strip("$"))
        headers = [c.value for c in ws[hr]]
        assert all(h and not LATIN.search(h) for h in headers), headers
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
        assert ws.page_setup.fitToHeight == 0 and ws.print_area
    ws = wb["组日安排"]
    col = {c.value: c.column for c in ws[2]}
    drive = [ws.cell(r, col["驾车（分钟）"]).value for r in range(3, ws.max_row + 1)]
    assert all(isinstance(x, int) for x in drive)
    assert sum(drive) == pytest.approx(res.routes["drive_min"].sum(), abs=len(drive))


def test_forms_workbook_chinese_headers_only_and_print_setup(campaign, tmp_path):
    _, res = campaign
    wb = openpyxl.load_workbook(forms.write_forms_xlsx(res, tmp_path / "f.xlsx"))
    ws = wb.active
    headers = [c.value for c in ws[1]]
    assert headers == [forms.form_header(col, "zh_CN") for col, _msgid in forms.FORM_COLUMNS]
    assert ws.cell(2, 4).value == res.visits.iloc[0]["marker_id"]     # data right under the headers
    assert ws.print_title_rows == "$1:$1" and ws.print_area
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9  # A4
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    # columns fit their content: the longest line name fits its column
    j = headers.index("界线名称") + 1
    longest = max(len(str(ws.cell(r, j).value or "")) for r in range(2, ws.max_row + 1))
    assert ws.column_dimensions[ws.cell(1, j).column_letter].width >= 2 * longest


def _fill(res, tmp_path, n=24):
    src = forms.write_forms_xlsx(res, tmp_path / "forms.xlsx")
    wb = openpyxl.load_workbook(src)
    ws = wb.active
    col = {c.value: c.column for c in ws[1]}
    conds = ["完好", "移位", "丢失", "损坏", "字迹不清", "被掩埋", "完好", "完好"]
    for k in range(n):
        r = 2 + k
        c = conds[k % len(conds)]
        ws.cell(r, col["界桩状况"]).value = c
        ws.cell(r, col["检查日期"]).value = "2026-10-08"
        ws.cell(r, col["照片编号"]).value = f"IMG_{k:04d}"
        if k == 0:  # a remark that looks like a formula, typed as text
            ws.cell(r, col["备注"]).value = "=1+1"
            ws.cell(r, col["备注"]).data_type = "s"
        if c == "移位":
            # alternate: clearly moved, and within survey error
            d = 0.0003 if k % 16 == 1 else 0.000005
            ws.cell(r, col["实测经度"]).value = float(ws.cell(r, col["登记经度"]).value) + d
            ws.cell(r, col["实测纬度"]).value = float(ws.cell(r, col["登记纬度"]).value)
    out = tmp_path / "filled.xlsx"
    wb.save(out)
    return out


def test_import_twice_changes_nothing_and_report_counts_equal_results(campaign, tmp_path):
    _, res = campaign
    filled = _fill(res, tmp_path)
    store = tmp_path / "results.gpkg"
    first = inspection.import_results(res, filled)
    save_results(first, store)
    m1, h1 = load_results(store)
    second = inspection.import_results(res, filled, previous_markers=m1, previous_history=h1)
    save_results(second, tmp_path / "again.gpkg")
    m2, h2 = load_results(tmp_path / "again.gpkg")
    pd.testing.assert_frame_equal(h1, h2)
    pd.testing.assert_frame_equal(m1.drop(columns="geometry"), m2.drop(columns="geometry"))
    assert len(h2) == 24 and second.remaining == first.remaining

    rep = campaign_report(res, second)
    # the report's counts are the imported results' counts
    got = rep.by_condition.set_index("condition")["count"]
    want = h2["condition"].value_counts()
    assert all(got[c] == want.get(c, 0) for c in got.index) and got.sum() == len(h2)
    acts = rep.repairs_by_action.set_index("action")["count"]
    assert acts.sum() == len(second.repairs)
    assert acts["补设"] == (h2["condition"] == "丢失").sum()
    moved = h2[(h2["condition"] == "移位") & (h2["displacement_m"] > 1.0)]
    assert set(rep.moved["marker_id"]) == set(moved["marker_id"]) and len(moved)
    assert acts["复位"] == len(moved)
    assert rep.lines["inspected"].sum() == len(h2)
    # repair list in Chinese with the displacement to 0.1 m
    work = second.repairs.set_index("marker_id")
    for r in moved.itertuples():
        assert work.loc[r.marker_id, "work"] == f"复位（位移 {r.displacement_m:.1f} 米）"
    assert not work["work"].str.contains(LATIN).any()
    # text from the form stays text
    wb = openpyxl.load_workbook(write_results_xlsx(second, tmp_path / "r.xlsx"))
    ws = wb["检查记录"]
    cells = [c.value for row in ws.iter_rows() for c in row]
    assert "=1+1" in cells
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    x = openpyxl.load_workbook(write_report_xlsx(rep, tmp_path / "rep.xlsx"))
    assert x["汇总"].cell(3, 3).value == got.iloc[0]
    pdf = write_report_pdf(rep, tmp_path / "rep.pdf")
    assert pdf.read_bytes()[:4] == b"%PDF"


def test_gpx_waypoints_give_the_measured_position(campaign, tmp_path):
    _, res = campaign
    t = forms.form_table(res)
    mid, lon, lat = t.loc[0, "marker_id"], t.loc[0, "lon"], t.loc[0, "lat"]
    t.loc[0, "condition"] = "移位"
    t.to_csv(tmp_path / "f.csv", index=False, encoding="utf-8-sig")
    gpx = tmp_path / "w.gpx"
    gpx.write_text('<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">'
                   f'<wpt lat="{lat + 0.0002:.7f}" lon="{lon:.7f}"><name>{mid}</name></wpt></gpx>', "utf-8")
    imp = inspection.import_results(res, tmp_path / "f.csv", gpx=gpx)
    # 0.0002° of latitude is about 22.2 m
    assert imp.history.set_index("marker_id").loc[mid, "displacement_m"] == pytest.approx(22.2, abs=0.3)


def test_share_package_for_the_neighbour(campaign, tmp_path):
    import zipfile

    from geoplan.inspection.share import for_partner, partner_codes, write_share_package

    _, res = campaign
    codes = partner_codes(res)
    neighbour = next(c for c in codes if len(c) == 6)
    part = for_partner(res, neighbour)
    lines = {lc for lc, v in res.params["lines"].items() if neighbour in v["partners"]}
    # every marker of the neighbour's lines is in its package, with whole team-days
    assert set(res.visits.loc[res.visits["line_code"].isin(lines), "marker_id"]) <= set(part.visits["marker_id"])
    assert set(part.routes["route_id"]) == set(part.visits["route_id"])
    z = write_share_package(res, neighbour, tmp_path / "share.zip", atlas=False)
    names = zipfile.ZipFile(z).namelist()
    assert len(names) == 3 and all(codes[neighbour] in n for n in names)
    with pytest.raises(inspection.InspectionError):
        for_partner(res, "999999")


def test_second_sample_campaign_visits_every_marker_of_its_lines():
    c = load_sample("330727")
    res = inspection.plan_for_county(c, 2, time_limit=1, start_date="2027-03-01")
    prog = line_programme(c["boundary_lines"], c["boundary_markers"], county_code="330727", start_year=2027)
    due = set(prog.loc[prog["year"] == 2027, "line_code"])
    m = c["boundary_markers"]
    assert set(res.visits["marker_id"]) | set(res.unreachable.index) == set(m.loc[m["line_code"].isin(due),
                                                                                  "marker_id"])
    # 2027's holidays are not published yet: weekdays, and the plan says so
    assert res.routes["date"].map(lambda d: d.weekday() < 5).all()
    assert res.params["calendar_unknown_years"] == [2027]


def test_replanned_days_complete_the_same_campaign(campaign, tmp_path):
    _, res = campaign
    first = inspection.import_results(res, _fill(res, tmp_path, n=20))
    new = inspection.replan(res, first, time_limit=1, start_date="2026-10-12")
    assert sorted(new.visits["marker_id"]) == sorted(first.remaining)
    t = forms.form_table(new)
    t["condition"] = "完好"
    t["inspected"] = "2026-10-13"
    t.to_csv(tmp_path / "rest.csv", index=False, encoding="utf-8-sig")
    second = inspection.import_results(new, tmp_path / "rest.csv", previous_markers=first.markers,
                                       previous_history=first.history)
    assert second.remaining == []
    rep = campaign_report(res, second)
    # every planned marker of the campaign is now inspected, and the counts add up
    assert rep.meta["n_inspected"] == len(res.visits) == rep.by_condition["count"].sum()
    assert rep.by_condition.set_index("condition").loc["完好", "count"] == (second.history["condition"] == "完好").sum()
    assert (rep.lines["inspected"] == rep.lines["planned"]).all()
