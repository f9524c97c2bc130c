"""What the coverage maps draw: travel-time areas from the evaluation's per-cell result, indicators."""

import pytest
import shapely

from geoplan.coverage.evaluation import evaluate
from geoplan.coverage.plans import load_plan
from geoplan.layers.sample import load_sample
from geoplan.maps.content import TRAVEL_NO_ROUTE, default_sources, indicator_results, travel_time_areas
from test_html_maps import ROOT, synthetic_per_cell


@pytest.fixture(scope="module")
def county():
    return load_sample("330624")


def test_travel_areas_are_the_cells_of_each_band(county):
    per_cell = synthetic_per_cell(county)
    per_cell["minutes"] = per_cell["minutes"] * 2  # spread over all bands
    areas = travel_time_areas(per_cell, county.population, (15, 30)).set_index("band")
    ok = per_cell["status"].eq("ok")
    m = per_cell["minutes"]
    expected = {"15 分钟内": ok & (m <= 15), "15–30 分钟": ok & (m > 15) & (m <= 30),
                "30 分钟以上": ok & (m > 30), TRAVEL_NO_ROUTE: ~ok}
    cell_area = abs(county.population.transform.a * county.population.transform.e)
    for band, sel in expected.items():
        assert sel.sum() > 0
        assert areas.loc[band, "population"] == pytest.approx(per_cell.loc[sel, "population"].sum())
        assert areas.loc[band, "cells"] == sel.sum()
        # the polygon is exactly the band's cells: their area, and every cell centre inside it
        assert areas.loc[band, "geometry"].area == pytest.approx(sel.sum() * cell_area, rel=1e-9)
        centres = per_cell.loc[sel].geometry.values
        assert shapely.contains_xy(areas.loc[band, "geometry"], shapely.get_x(centres), shapely.get_y(centres)).all()
    # bands do not overlap, and add up to everybody
    geoms = list(areas.geometry)
    assert sum(g.area for g in geoms) == pytest.approx(shapely.union_all(geoms).area, rel=1e-9)
    assert areas["population"].sum() == pytest.approx(per_cell["population"].sum())


def test_indicators_follow_the_evaluation(county):
    ev = evaluate(load_plan(ROOT / "plans" / "330624_2022.toml"), county.layers, 2022)
    inds = indicator_results(ev)
    assert [i.rule_id for i in inds] == list(dict.fromkeys(ev.townships["rule_id"]))
    for ind in inds:
        rows = ev.townships[ev.townships["rule_id"] == ind.rule_id]
        assert ind.n_fail == int(rows["passed"].eq(False).sum())
        assert (str(ind.n_fail) in ind.label) or ind.n_fail == 0
    assert indicator_results(None) == []
    note = default_sources(county)
    assert "国家统计局" in note and "示意" in note
