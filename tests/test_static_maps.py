"""Static coverage maps for the written plan: A4 page, 300 dpi, everything inside the sheet, grey-readable."""

import re
import shutil
import subprocess

import matplotlib
import numpy as np
import pytest
from click.testing import CliRunner
from matplotlib.colors import to_rgb
from PIL import Image

from geoplan.cli.map import map_group
from geoplan.coverage.evaluation import evaluate
from geoplan.coverage.plans import load_plan
from geoplan.layers.sample import load_sample
from geoplan.maps.common import MapError
from geoplan.maps.html import people_beyond
from geoplan.maps.print import cjk_rc
from geoplan.maps.static import RESULT_STYLES, _coverage_figure, coverage_static
from test_html_maps import ROOT, synthetic_per_cell

pytestmark = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")


@pytest.fixture(scope="module")
def inputs():
    county = load_sample("330624")
    ev = evaluate(load_plan(ROOT / "plans" / "330624_2022.toml"), county.layers, 2022)
    per_cell = synthetic_per_cell(county)
    return county, ev, dict(travel=per_cell, uncovered=people_beyond(per_cell, 15), gap_minutes=15)


def _page_size(pdf):
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    assert re.search(r"Pages:\s+1\n", info)
    return tuple(map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info).groups()))


def _margin_is_blank(png, mm: float, page_mm):
    """No ink within ``mm`` of the sheet's edge: nothing drawn runs off the page."""
    im = np.asarray(Image.open(png).convert("L"))
    h, w = im.shape
    px = int(round(mm / page_mm[0] * w)), int(round(mm / page_mm[1] * h))
    strips = [im[:, : px[0]], im[:, w - px[0]:], im[: px[1], :], im[h - px[1]:, :]]
    return all(s.min() >= 250 for s in strips), im


@pytest.mark.parametrize("orientation", ["landscape", "portrait"])
def test_pdf_is_one_a4_sheet_with_everything_inside(inputs, tmp_path, orientation):
    county, ev, content = inputs
    pdf = coverage_static(county, ev, tmp_path / "覆盖.pdf", orientation=orientation, **content)
    w, h = _page_size(pdf)
    expected = (841.89, 595.28) if orientation == "landscape" else (595.28, 841.89)
    assert (w, h) == (pytest.approx(expected[0], abs=0.5), pytest.approx(expected[1], abs=0.5))
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    for must in ("新昌县 民政设施覆盖", "图例", "北", "公里", "数据日期", "数据来源", "达标",
                 "每个乡镇(街道)建有居家养老服务中心", "规划", "回山镇", "城南乡"):
        assert must in text, must
    subprocess.run(["pdftoppm", "-r", "50", "-png", "-singlefile", str(pdf), str(tmp_path / "page")], check=True)
    blank, im = _margin_is_blank(tmp_path / "page.png", 2.0, (297, 210) if orientation == "landscape" else (210, 297))
    assert blank, "something is drawn within 2 mm of the page edge"
    assert (im < 128).mean() > 0.01  # and the page is not empty


def test_png_is_a4_at_300_dpi_and_every_artist_is_on_the_sheet(inputs, tmp_path):
    county, ev, content = inputs
    png = coverage_static(county, ev, tmp_path / "覆盖.png", indicator="social_work_station", **content)
    im = Image.open(png)
    assert abs(im.size[0] - 3508) <= 1 and abs(im.size[1] - 2480) <= 1
    assert im.info["dpi"][0] == pytest.approx(300, abs=0.01)
    blank, _ = _margin_is_blank(png, 2.0, (297, 210))
    assert blank
    # matplotlib's own extents of every drawn artist (text included) lie within the figure
    with matplotlib.rc_context(cjk_rc()):
        fig = _coverage_figure(county, ev, indicator="social_work_station", **content)
        renderer = fig.canvas.get_renderer()
        tight = fig.get_tightbbox(renderer)
        w, h = fig.get_size_inches()
        assert tight.x0 >= 0 and tight.y0 >= 0 and tight.x1 <= w and tight.y1 <= h, tight
        texts = [t.get_text() for t in fig.findobj(matplotlib.text.Text)]
        assert f"指标：{ev.plan.rule('social_work_station').title}" in " ".join(texts)  # the plan's own title
        # one question per sheet: a facility-presence indicator carries no travel-time areas
        assert not any("分钟内可达" in t for t in texts)
        matplotlib.pyplot.close(fig)


def test_results_differ_in_grey():
    """Pass / fail / not required stay apart in grey print: by lightness or by hatching."""
    grey = {k: np.dot(to_rgb(v["facecolor"]), [0.299, 0.587, 0.114]) for k, v in RESULT_STYLES.items()}
    keys = list(RESULT_STYLES)
    for i in range(len(keys)):
        for j in range(i + 1, len(keys)):
            a, b = RESULT_STYLES[keys[i]], RESULT_STYLES[keys[j]]
            assert a["hatch"] != b["hatch"] and (abs(grey[keys[i]] - grey[keys[j]]) > 0.05 or a["hatch"])


def test_bad_requests_are_explained(inputs, tmp_path):
    county, ev, _ = inputs
    with pytest.raises(MapError, match="'nope'"):
        coverage_static(county, ev, tmp_path / "x.pdf", indicator="nope")
    with pytest.raises(MapError, match="'x.jpg'"):
        coverage_static(county, ev, tmp_path / "x.jpg")
    assert not list(tmp_path.iterdir())


def test_cli_writes_one_static_map_per_indicator(tmp_path):
    runner = CliRunner()
    res = runner.invoke(map_group, ["coverage", "--plan", str(ROOT / "plans" / "330624_2022.toml"), "--no-travel",
                                    "--pdf", str(tmp_path / "覆盖.pdf"), "--each-indicator"])
    assert res.exit_code == 0, res.output
    ev = evaluate(load_plan(ROOT / "plans" / "330624_2022.toml"), load_sample("330624").layers, 2022)
    expected = {f"覆盖_{r}.pdf" for r in ev.townships["rule_id"].unique()}
    assert {p.name for p in tmp_path.iterdir()} == expected
    res = runner.invoke(map_group, ["coverage", "--no-travel", "--pdf", str(tmp_path / "x.png")])
    assert res.exit_code == 2 and "以 .pdf 结尾" in res.output
    res = runner.invoke(map_group, ["coverage", "--no-travel"])
    assert res.exit_code == 2 and "--out" in res.output
