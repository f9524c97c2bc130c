"""Offline address matching against the official township and village names."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from geoplan.layers.addresses import (LEVEL_NONE, LEVEL_TOWNSHIP, LEVEL_VILLAGE, build_index, match_addresses,
                                      match_summary, official_villages, village_core)
from geoplan.layers.sample import load_sample

sys.path.insert(0, str(Path(__file__).parent))
from bureau_bundle import addresses_for  # noqa: E402


@pytest.fixture(scope="module")
def county():
    return load_sample("330624")


@pytest.fixture(scope="module")
def index(county):
    return build_index("330624", county["townships"], county["villages"])


def test_official_village_list_is_the_nbs_one():
    v = official_villages("33")
    xc = v[v["county_code"] == "330624"]
    # data/SOURCES.md: 新昌县 has 292 village-level units, 磐安县 236, Zhejiang 25,547.
    assert len(xc) == 292 and (v["county_code"] == "330727").sum() == 236 and len(v) == 25547
    assert xc["code"].str[:9].eq(xc["township_code"]).all()


def test_accuracy_on_the_bureau_addresses(county, index):
    """Every children's home by an address made from its township and village names."""
    ch = county["children_homes"]
    addrs, styles = addresses_for(ch, county["villages"], county["townships"], county.name)
    m = match_addresses(addrs, index)
    summary = match_summary(m).set_index("level")
    print("\naddress accuracy (新昌县 children's homes):\n" + summary.to_string())
    truth_t = ch["township_code"].to_numpy()
    # Never the wrong township.
    placed = m["township_code"].notna().to_numpy()
    assert (m["township_code"].to_numpy()[placed] == truth_t[placed]).all()
    # Village level: the home's own village, at that village's point.
    vil = (m["level"] == LEVEL_VILLAGE).to_numpy()
    assert (m["village_code"].to_numpy()[vil] == ch["village_code"].to_numpy()[vil]).all()
    vpts = county["villages"].set_index("code").geometry
    for code, g in zip(m["village_code"][vil], m.geometry[vil]):
        assert g.equals_exact(vpts[code], 1e-12)
    # Addresses naming only a road are placed at township level, and say so.
    road_only = np.array(styles) == 5
    assert (m["level"].to_numpy()[road_only] == LEVEL_TOWNSHIP).all()
    assert m["note"][road_only].str.contains("乡镇代表点").all()
    assert m["point_source"][road_only].str.contains("乡镇代表点").all()
    # Township points lie inside their township.
    towns = county["townships"].set_index("code").geometry
    for code, g in zip(m["township_code"][road_only], m.geometry[road_only]):
        assert towns[code].contains(g)
    # Every address that names a village is placed at it.
    assert vil[~road_only].all()
    assert summary.loc[LEVEL_VILLAGE, "share"] == pytest.approx((~road_only).mean())
    assert summary.loc[LEVEL_NONE, "count"] == 0
    # With the facilities' names (竹畈村儿童之家), the road-only rows find their village too,
    # in the township the address gives, and say where the village name came from.
    mn = match_addresses(addrs, index, names=ch["name"])
    assert (mn["level"] == LEVEL_VILLAGE).all()
    assert (mn["village_code"].to_numpy() == ch["village_code"].to_numpy()).all()
    assert mn["note"][road_only].str.contains("取自设施名称").all() and (mn["note"][~road_only] == "").all()
    print("with facility names: all %d at village level" % len(mn))


def test_official_names_committee_suffixes_and_short_forms():
    idx = build_index("330624")
    m = match_addresses([
        "新昌县儒岙镇南山村12号",              # official 南山村委会
        "羽林街办大塘坑居委会",                 # 街办 for 街道, 居委会 without 社区
        "浙江省绍兴市新昌县羽林街道临江社区5号",  # full prefix
        "儒岙龙山居委会",                        # short township name
        "七星街道龙山村委会",
    ], idx)
    assert m["township_name"].tolist() == ["儒岙镇", "羽林街道", "羽林街道", "儒岙镇", "七星街道"]
    assert m["village_code"].tolist() == ["330624110216", "330624001003", "330624001001",
                                          "330624110001", "330624003200"]
    # No coordinates without a villages layer or township polygons: identified, but not placed.
    assert (m["level"] == LEVEL_TOWNSHIP).all() and m.geometry.isna().all()
    assert m["note"].str.contains("没有坐标").all()


def test_ambiguous_foreign_and_wrong_township(county):
    idx = build_index("330624", county["townships"])
    m = match_addresses(["龙山12号", "嵊州市甘霖镇东王村", "儒岙镇后岸村", "", None, "人民路8号", "龙山村"], idx)
    lv = m["level"].tolist()
    assert lv[:2] == [LEVEL_NONE, LEVEL_NONE] and lv[3:6] == [LEVEL_NONE] * 3
    assert "多个乡镇" in m["note"][0] and "嵊州市" in m["note"][1]
    # 后岸村 is in 羽林街道: the address says 儒岙镇, so it stays in 儒岙镇, at township level, flagged.
    assert lv[2] == LEVEL_TOWNSHIP and m["township_name"][2] == "儒岙镇" and "不属于儒岙镇" in m["note"][2]
    # The full name 龙山村 is one village (七星街道's 龙山村委会), not 儒岙镇's 龙山居委会.
    assert m["township_code"][6] == "330624003"
    assert m.geometry[[1, 3, 4, 5]].isna().all()


def test_former_names_as_aliases(county):
    aliases = pd.DataFrame({"alias": ["南山大队", "老城关镇"], "code": ["330624110216", "330624001"]})
    villages = county["villages"].head(0)
    idx = build_index("330624", county["townships"], villages, aliases=aliases)
    m = match_addresses(["南山大队3号", "老城关镇人民路1号"], idx)
    assert m["village_code"][0] == "330624110216" and m["township_code"][0] == "330624110"
    assert m["township_code"][1] == "330624001"


def test_village_core():
    assert village_core("后岸村委会") == ("后岸", "村")
    assert village_core("青山社区居委会") == ("青山", "社区")
    assert village_core("儒一村") == ("儒一", "村")
    # A two-character name keeps its 村: 东村 is the name, not 东.
    assert village_core("东村") == ("东村", "村")


def test_report_never_writes_formulas(tmp_path, county):
    import openpyxl

    from geoplan.layers.workspace import write_address_report

    idx = build_index("330624", county["townships"])
    m = match_addresses(["=HYPERLINK(\"http://x\")", "新昌县沙溪镇"], idx)
    m.insert(0, "row", ["第 2 行", "第 3 行"])
    m.insert(0, "file", "x.xlsx")
    m.insert(2, "name", ["=1+1", "站"])
    out = write_address_report(m, tmp_path / "r.xlsx")
    ws = openpyxl.load_workbook(out).active
    assert ws.cell(2, 4).value == "=HYPERLINK(\"http://x\")" and ws.cell(2, 4).data_type == "s"
    assert ws.cell(2, 3).data_type == "s"
    assert ws.cell(2, 5).value == LEVEL_NONE  # unplaced rows first
    assert not shapely.is_empty(m.geometry[1])


def test_gazetteer_places_and_former_names(county, tmp_path):
    from geoplan.gazetteer.store import Gazetteer
    from geoplan.layers.addresses import gazetteer_reference

    with Gazetteer(tmp_path / "gaz.db", create=True) as g:
        rec, _ = g.add("枫树村", "1220", "330624110", geometry="POINT (120.85 29.30)", force=True)
        g.rename(rec["name_id"], "枫林村", date="2021-01-01", force=True)
        places, aliases = gazetteer_reference(g, "330624")
    assert list(places["name"]) == ["枫林村"] and list(aliases["alias"]) == ["枫树村"]
    idx = build_index("330624", county["townships"], places, aliases=aliases)
    m = match_addresses(["儒岙镇枫树村8号", "新昌县儒岙镇枫林村"], idx)
    assert (m["level"] == LEVEL_VILLAGE).all() and (m["village_name"] == "枫林村").all()
    assert m.geometry.iloc[0].equals(shapely.Point(120.85, 29.30))
