"""The maps and the atlas speak the reader's language (issue #14).

In English mode the coverage, inspection and place-name maps, the A4 static
coverage map and the inspection atlas keep no Chinese text of their own: what
Chinese is left is data (place names, the plan's own indicator titles and
reasons, boundary-line names, the schema's category values). In Chinese mode
the same outputs have no English words outside the scan's allow-list. The scans
are those of ``tests/test_i18n_scan.py``.
"""

from __future__ import annotations

import shutil
import subprocess

import pandas as pd
import pytest

from geoplan import i18n
from geoplan.maps.coverage_html import coverage_map, people_beyond
from geoplan.maps.gazetteer_html import gazetteer_map
from geoplan.maps.html import save_map
from geoplan.maps.inspection_html import inspection_map

from test_html_maps import ROOT, synthetic_per_cell, synthetic_routes
from test_html_maps import county, evaluation  # noqa: F401 (the same sample county and evaluation fixtures)
from test_i18n_scan import ALLOWED, HAN, _visible_texts, chinese_ui, data_chinese, data_words, english_words

needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")


@pytest.fixture(scope="module")
def campaign(county):
    from geoplan.inspection import planning

    return planning.plan_for_county(county, 1, time_limit=1, as_of="2025-03-01", due_lines=["3068"])


def _history(names):
    """A name history table in the committee's columns (its Chinese cells are data)."""
    ids = names["name_id"].astype(str).head(2).tolist()
    return pd.DataFrame({"name_id": ids, "year": [1992, 2001], "event": ["更名", "更名"],
                         "old_name": ["旧名甲", "旧名乙"], "note": ["", ""]})


def _outputs(county, evaluation, campaign, lang, out):
    """Every map and page of this module's scope, written in ``lang``; returns {file name: [texts]}."""
    from geoplan.maps.print import write_atlas
    from geoplan.maps.static import coverage_static

    per_cell = synthetic_per_cell(county)
    sites = county["elderly_care"].head(2)[["facility_id", "geometry"]].rename(columns={"facility_id": "site_id"})
    i18n.set_language(lang)
    try:
        files = [
            save_map(coverage_map(county, evaluation, travel=per_cell, uncovered=people_beyond(per_cell, 15),
                                  gap_minutes=15, proposed_sites=sites, offline=True, basemap="none"),
                     out / "coverage.html"),
            save_map(coverage_map(county, evaluation, isochrones=_isochrones(county), offline=True, basemap="none"),
                     out / "coverage_isochrones.html"),
            save_map(inspection_map(county["boundary_lines"], county["boundary_markers"],
                                    synthetic_routes(county["boundary_markers"], team_names=("A", "B")),
                                    outline=county.outline, offline=True, basemap="none"), out / "inspection.html"),
            save_map(gazetteer_map(county["place_names"], _history(county["place_names"]), outline=county.outline,
                                   offline=True, basemap="none"), out / "gazetteer.html"),
        ]
        texts = {f.name: _visible_texts(f) for f in files}
        if shutil.which("pdftotext"):
            static = coverage_static(county, evaluation, out / "static.pdf", travel=per_cell,
                                     uncovered=people_beyond(per_cell, 15), gap_minutes=15, proposed_sites=sites)
            atlas = write_atlas(campaign, out / "atlas.pdf", per_line=True)
            for f in (static, atlas):
                texts[f.name] = [subprocess.run(["pdftotext", "-layout", str(f), "-"], capture_output=True,
                                                text=True, check=True).stdout]
        return texts
    finally:
        i18n.set_language(None)


def _isochrones(county):
    from test_html_maps import synthetic_isochrones

    return synthetic_isochrones(county)


@pytest.fixture(scope="module")
def english(county, evaluation, campaign, tmp_path_factory):
    return _outputs(county, evaluation, campaign, "en", tmp_path_factory.mktemp("en"))


@pytest.fixture(scope="module")
def chinese(county, evaluation, campaign, tmp_path_factory):
    return _outputs(county, evaluation, campaign, "zh_CN", tmp_path_factory.mktemp("zh"))


@pytest.fixture(scope="module")
def data(county, evaluation, campaign):
    """Chinese that is data: the scan's own, and what these maps show from their inputs."""
    runs = data_chinese()

    def add(values):
        for v in values:
            runs.update(HAN.findall(str(v)))

    add(evaluation.townships.select_dtypes(exclude="number").to_numpy().ravel())  # the plan's titles, reasons
    add([evaluation.plan.name, county.name])
    for kind in ("boundary_lines", "boundary_markers"):  # names, materials, notes: what the bureau wrote
        add(county[kind].select_dtypes(exclude="number").drop(columns="geometry").to_numpy().ravel())
    add(county["elderly_care"]["name"])
    for kind in ("cemeteries", "social_work_stations", "disability_homes", "children_homes"):
        if kind in county.layers:
            add(county[kind].select_dtypes(exclude="number").drop(columns="geometry").to_numpy().ravel())
    add(county["elderly_care"].select_dtypes(exclude="number").drop(columns="geometry").to_numpy().ravel())
    add(county["place_names"].select_dtypes(exclude="number").drop(columns="geometry").to_numpy().ravel())
    add(county["townships"]["name"])
    add(["更名", "旧名甲", "旧名乙"])  # the history table of this module
    # the atlas: team bases, neighbouring areas, and the planner's reasons (geoplan.inspection's words)
    add(campaign.params.values())
    add(campaign.areas.values())
    add(campaign.routes.select_dtypes(exclude="number").to_numpy().ravel())
    if len(campaign.unreachable):
        add(campaign.unreachable.astype(str).to_numpy().ravel())
    return runs


def _found(texts, scan):
    out = {}
    for name, parts in texts.items():
        for t in parts:
            hits = scan(t)
            if hits:
                out.setdefault(name, {}).update({h: t[:80] for h in hits})
    return out


EXPECTED = {"coverage.html", "coverage_isochrones.html", "inspection.html", "gazetteer.html"}


def test_english_maps_have_no_chinese_ui_text(english, data):
    assert EXPECTED <= set(english)
    assert _found(english, lambda t: chinese_ui(t, data)) == {}


def test_chinese_maps_have_no_english_word(chinese):
    allowed = ALLOWED | data_words() | {"A", "B"}  # the routes' team names of this module
    assert EXPECTED <= set(chinese)
    assert _found(chinese, lambda t: english_words(t, allowed)) == {}


@needs_poppler
def test_english_static_map_and_atlas_are_english(english):
    assert {"static.pdf", "atlas.pdf"} <= set(english)
    assert "Legend" in english["static.pdf"][0] and "Legend" in english["atlas.pdf"][0]
