"""HTML maps in a real browser: Debian's chromium driven by playwright.

The pages are loaded from file:// with every other request refused, so
these tests also prove the offline files need no network. Outside CI they
are skipped when playwright or chromium is missing; in CI (``CI`` set) that
is a failure. Set ``GEOPLAN_SCREENSHOTS=DIR`` to keep a screenshot per map.
"""

import dataclasses
import os
import re
import shutil
import subprocess
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geoplan.coverage.evaluation import evaluate
from geoplan.maps.html import coverage_map, gazetteer_map, inspection_map, leaflet_assets, people_beyond, save_map
from geoplan.coverage.plans import load_plan
from geoplan.layers.sample import load_sample
from test_html_maps import XSS, synthetic_per_cell, synthetic_routes

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("GEOPLAN_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]

if os.environ.get("CI"):
    from playwright.sync_api import expect, sync_playwright
    assert shutil.which(CHROMIUM) or Path(CHROMIUM).exists(), f"chromium not found at {CHROMIUM}"
else:
    _pw = pytest.importorskip("playwright.sync_api")
    sync_playwright, expect = _pw.sync_playwright, _pw.expect
    if not Path(CHROMIUM).exists():
        pytest.skip(f"chromium not found at {CHROMIUM}", allow_module_level=True)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def maps(tmp_path_factory):
    """Offline maps of the sample county; the coverage map carries XSS strings as names."""
    county = load_sample("330624")
    evaluation = evaluate(load_plan(ROOT / "plans" / "330624_2022.toml"), county.layers, 2022)
    c = dataclasses.replace(county, layers=dict(county.layers))
    towns = c.layers["townships"].copy()
    towns.loc[towns.index[0], "name"] = XSS[0]
    towns.loc[towns.index[1], "name"] = XSS[4]
    c.layers["townships"] = towns
    sites = gpd.GeoDataFrame({"name": ["拟建<b>站</b>"]}, geometry=[shapely.Point(121.0, 29.45)], crs=4490)
    folder = tmp_path_factory.mktemp("browser")
    history = pd.DataFrame({"name_id": ["330624104", "330624104"], "year": [1950, 1992],
                            "event": ["设回山乡", "撤乡建镇"], "note": [XSS[1], ""]})
    return {
        "coverage": save_map(coverage_map(c, evaluation, travel=synthetic_per_cell(county),
                                          uncovered=people_beyond(synthetic_per_cell(county), 15), gap_minutes=15,
                                          proposed_sites=sites, offline=True, data_date="2022-12-31"),
                             folder / "coverage.html"),
        "inspection": save_map(inspection_map(county["boundary_lines"], county["boundary_markers"],
                                              synthetic_routes(county["boundary_markers"]), outline=county.outline,
                                              offline=True), folder / "inspection.html"),
        "gazetteer": save_map(gazetteer_map(county["place_names"], history, outline=county.outline, offline=True,
                                            hidden_categories=["1220"]), folder / "gazetteer.html"),
        "online": save_map(gazetteer_map(county["place_names"], basemap="none"), folder / "online.html"),
        "counts": {kind: len(county[kind]) for kind in ("elderly_care", "children_homes")},
        "townships": sorted(county["townships"]["name"].replace({county["townships"]["name"].iloc[0]: XSS[0],
                                                                  county["townships"]["name"].iloc[1]: XSS[4]})),
        "indicators": evaluation.townships["rule_id"].nunique(),
    }


class Page:
    """A page whose requests other than file:// are refused (or served locally), with its console recorded."""

    def __init__(self, browser, path: Path, serve: dict | None = None, size=(1200, 760)):
        self.page = browser.new_page(viewport={"width": size[0], "height": size[1]})
        self.errors, self.requests = [], []
        self.page.on("console", lambda m: m.type in ("error", "warning") and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("dialog", lambda d: (self.errors.append(f"dialog: {d.message}"), d.dismiss()))
        self.page.add_init_script("window.__xss = 0; window.alert = function () { window.__xss += 1; };")

        def route(r):
            url = r.request.url
            if url.startswith("file://"):
                return r.continue_()
            self.requests.append(url)
            if serve and url in serve:
                return r.fulfill(status=200, body=serve[url][0], content_type=serve[url][1])
            return r.abort()

        self.page.route("**/*", route)
        self.page.goto(path.as_uri())
        self.page.wait_for_function("document.querySelectorAll('.leaflet-interactive').length > 0")

    def overlay_labels(self) -> list[str]:
        return [t.strip() for t in self.page.locator(".leaflet-control-layers-overlays label").all_inner_texts()]

    def checkbox(self, name: str):
        return self.page.locator(".leaflet-control-layers-overlays label", has_text=name).locator("input")

    def shoot(self, name: str):
        folder = os.environ.get("GEOPLAN_SCREENSHOTS")
        data = self.page.screenshot(path=str(Path(folder) / f"{name}.png") if folder else None)
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000  # a drawn map, not a blank page


@pytest.mark.parametrize("name", ["coverage", "inspection", "gazetteer"])
def test_offline_map_renders_with_network_blocked(browser, maps, name):
    page = Page(browser, maps[name])
    assert page.errors == []
    assert page.requests == [], "an offline map must request nothing"
    assert page.page.evaluate("typeof L") == "object"
    assert page.page.locator(".leaflet-control-scale").count() == 1
    assert page.page.locator(".gp-legend").inner_text().startswith("图例")
    assert page.page.locator(".gp-titlebox").inner_text()
    assert len(page.overlay_labels()) >= 3
    assert page.page.evaluate("window.__xss") == 0
    page.shoot(name)
    page.page.close()


def test_layer_control_lists_layers_and_toggles_them(browser, maps):
    page = Page(browser, maps["coverage"])
    labels = page.overlay_labels()
    for expected in ["乡镇(街道)名称", "养老服务设施", "儿童之家", "通行时间（步行至道路 + 驾车）",
                     "缺口：未达标乡镇(街道)", "缺口：15 分钟外人口", "人口分布（每平方公里）", "拟新建站点（选址结果）"]:
        assert expected in labels, (expected, labels)
    icons = page.page.locator(".gp-sym")
    before = icons.count()
    box = page.checkbox("养老服务设施")
    assert box.is_checked()
    box.click()
    assert not box.is_checked()
    assert icons.count() == before - maps["counts"]["elderly_care"]
    box.click()
    assert icons.count() == before
    # a hidden layer switched on draws its features
    children = page.checkbox("儿童之家")
    assert not children.is_checked()
    children.click()
    assert icons.count() == before + maps["counts"]["children_homes"]
    assert page.errors == []
    page.page.close()


def test_popup_shows_escaped_text_and_runs_nothing(browser, maps):
    page = Page(browser, maps["coverage"])
    p = page.page
    p.fill(".gp-search input", "onerror")
    hit = p.locator(".gp-search li").first
    expect(hit).to_contain_text(XSS[0])
    hit.click()
    popup = p.locator(".leaflet-popup-content")
    expect(popup).to_contain_text(XSS[0])
    assert "<th>常住人口</th>" in popup.inner_html()
    assert p.locator("img[src=x]").count() == 0
    p.locator(".leaflet-popup-close-button").click()
    expect(p.locator(".leaflet-popup")).to_have_count(0)
    # another feature's popup, found by the Enter key
    p.fill(".gp-search input", "拟建")
    expect(p.locator(".gp-search li").first).to_contain_text("拟建<b>站</b>")
    p.keyboard.press("Enter")
    expect(popup).to_contain_text("拟建<b>站</b>")
    assert popup.locator("b").count() == 0
    p.wait_for_timeout(200)
    assert p.evaluate("window.__xss") == 0 and page.errors == []
    page.page.close()


def test_gazetteer_popup_shows_history(browser, maps):
    page = Page(browser, maps["gazetteer"])
    p = page.page
    p.fill(".gp-search input", "回山镇")
    expect(p.locator(".gp-search li").first).to_contain_text("回山镇")
    p.keyboard.press("Enter")
    popup = p.locator(".leaflet-popup-content")
    expect(popup).to_contain_text("撤乡建镇")
    text = popup.inner_text()
    assert "历史沿革" in text and "撤乡建镇" in text and XSS[1] in text
    assert p.evaluate("window.__xss") == 0 and page.errors == []
    page.page.close()


def test_online_map_needs_only_leaflet(browser, maps):
    js, css = leaflet_assets()
    serve = {"https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.js": (js, "application/javascript"),
             "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.css": (css, "text/css")}
    page = Page(browser, maps["online"], serve=serve)
    assert sorted(page.requests) == sorted(serve)
    assert page.errors == []
    assert any(label.startswith("县级行政区域") for label in page.overlay_labels())
    page.page.close()


SCREENS = [(1366, 768), (1920, 1080)]


def _inside(box, w, h):
    return box is not None and box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= w + 0.5 \
        and box["y"] + box["height"] <= h + 0.5


@pytest.mark.parametrize("size", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", ["coverage", "inspection", "gazetteer"])
def test_controls_fit_the_screen(browser, maps, name, size):
    """Title, legend, layer control and indicator choice are wholly on a laptop screen and a desktop one."""
    w, h = size
    page = Page(browser, maps[name], size=size)
    p = page.page
    for sel in (".gp-titlebox", ".gp-legend", ".leaflet-control-layers", ".leaflet-control-scale",
                ".leaflet-control-attribution") + ((".gp-choice",) if name == "coverage" else ()):
        assert p.locator(sel).count() == 1, sel
        assert _inside(p.locator(sel).bounding_box(), w, h), (sel, p.locator(sel).bounding_box())
    # the legend and the layer list are read without scrolling
    for sel in (".gp-legend", ".leaflet-control-layers-list"):
        assert p.evaluate(f"(e => e.scrollHeight <= e.clientHeight + 1)(document.querySelector('{sel}'))"), sel
    # controls do not cover each other
    boxes = [p.locator(s).bounding_box() for s in (".gp-titlebox", ".gp-legend", ".leaflet-control-layers")]
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i], boxes[j]
            assert a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"] \
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"], (a, b)
    # metric scale only; a plain Leaflet credit (no flag) with the data sources
    assert p.locator(".leaflet-control-scale-line").count() == 1
    assert re.fullmatch(r"\d+ (k?m)", p.locator(".leaflet-control-scale-line").inner_text().strip())
    attribution = p.locator(".leaflet-control-attribution")
    assert attribution.inner_text().startswith("Leaflet") and attribution.locator("svg").count() == 0
    assert page.errors == []
    page.shoot(f"{name}_{w}x{h}")
    page.page.close()


@pytest.mark.parametrize("size", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_one_indicator_at_a_time_and_township_names(browser, maps, size):
    page = Page(browser, maps["coverage"], size=size)
    p = page.page
    radios = p.locator(".gp-choice input[type=radio]")
    assert radios.count() == maps["indicators"] >= 2
    n_towns = len(maps["townships"])
    headings = []
    for k in [1, 0, radios.count() - 1]:
        radios.nth(k).check()
        assert [radios.nth(i).is_checked() for i in range(radios.count())].count(True) == 1
        # exactly one indicator's township fills are drawn, all of the chosen one
        assert p.locator("path.gp-ind").count() == n_towns
        assert p.locator(f"path.gp-ind-{k}").count() == n_towns
        # the legend shows that indicator only
        shown = [t for t in p.locator(".gp-legend .gp-sec:visible h4").all_inner_texts() if t.startswith("指标：")]
        assert len(shown) == 1
        headings.append(shown[0])
    assert len(set(headings)) == 3
    # township names drawn on the map, inside the map
    labels = p.locator(".gp-tl")
    assert sorted(labels.all_inner_texts()) == maps["townships"]
    assert p.evaluate("window.__xss") == 0
    boxes = [labels.nth(i).bounding_box() for i in range(labels.count())]
    assert sum(_inside(b, *size) for b in boxes) == n_towns
    assert page.errors == []
    page.page.close()


def test_printing_gives_one_a4_page(browser, maps, tmp_path):
    """The print stylesheet: one landscape A4 sheet with title, legend, scale and north arrow, no controls."""
    page = Page(browser, maps["coverage"], size=(1366, 768))
    p = page.page
    p.emulate_media(media="print")
    p.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    for sel in (".leaflet-control-layers", ".gp-choice", ".gp-search", ".leaflet-control-zoom"):
        assert not p.locator(sel).is_visible(), sel
    for sel in (".gp-titlebox", ".gp-legend", ".gp-north", ".leaflet-control-scale"):
        assert p.locator(sel).is_visible(), sel
    pdf = tmp_path / "print.pdf"
    p.pdf(path=str(pdf), prefer_css_page_size=True, print_background=True)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    assert re.search(r"Pages:\s+1\n", info)
    w, h = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info).groups())
    assert (w, h) == (pytest.approx(841.9, abs=1), pytest.approx(595.3, abs=1))
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "民政设施覆盖" in text and "图例" in text and "数据日期" in text
    folder = os.environ.get("GEOPLAN_SCREENSHOTS")
    if folder:
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-singlefile", str(pdf), str(Path(folder) / "coverage_print")],
                       check=True)
    page.page.close()
