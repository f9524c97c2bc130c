"""The printed atlas and record forms: pages, Chinese text, paper size, layout."""

import dataclasses
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from geoplan.inspection import forms
from geoplan.inspection import planning as inspection
from geoplan.maps.atlas_parts import new_figure
from geoplan.maps.print import PrintError, cjk_font_path, write_atlas
from geoplan.layers.sample import load_sample

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")


@pytest.fixture(scope="module")
def result():
    return inspection.plan_for_county(load_sample("330624"), 1, time_limit=1, as_of="2025-03-01",
                                      due_lines=["3068"])


def _pages(path):
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True).stdout
    pages = int(next(l for l in info.splitlines() if l.startswith("Pages:")).split()[1])
    size = next(l for l in info.splitlines() if l.startswith("Page size:"))
    return pages, size


def _text(path, page):
    return subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), str(path), "-"],
                          capture_output=True, text=True).stdout


def test_cjk_font_found():
    assert "CJK" in cjk_font_path() or "wqy" in cjk_font_path().lower()


def test_atlas_pages_and_text(result, tmp_path):
    pdf = write_atlas(result, tmp_path / "atlas.pdf", paper="A4", orientation="landscape")
    pages, size = _pages(pdf)
    assert pages == 1 + len(result.routes)
    assert "(A4)" in size and size.index("841") < size.index("595")   # landscape
    overview = _text(pdf, 1)
    assert "总图" in overview and "3068" in overview
    day = _text(pdf, 2)
    r = result.routes.iloc[0]
    # Type 3 fonts: some pdftotext versions lift single-byte glyphs (the team and day numbers) out of the
    # CJK run, others keep them in place
    assert re.search(r"作业图\s*第\s*\d*\s*组\s*第\s*\d*\s*天", day) and str(r["date"]) in day
    assert "宁海县" in day and "新昌县" in day         # both sides named
    assert "比例尺" in day and "北" in day and "图例" in day
    first = result.visits[result.visits.route_id == r["route_id"]]["marker_id"].iloc[0]
    assert first in day


def test_atlas_fonts_print_everywhere(result, tmp_path):
    """CJK text is embedded as Type 3: Noto's CFF outlines as Type 42 make font dicts PDF readers reject."""
    pdf = write_atlas(result, tmp_path / "atlas.pdf")
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True).stdout
    assert "NotoSansCJKsc" in fonts  # the Simplified Chinese face, not the Japanese default of the .ttc
    assert "Type 3" in fonts and "CID Type 0C" not in fonts


def test_atlas_a3_portrait(result, tmp_path):
    pdf = write_atlas(result, tmp_path / "a3.pdf", paper="A3", orientation="portrait")
    _, size = _pages(pdf)
    assert "(A3)" in size and size.index("841") < size.index("1190")
    with pytest.raises(PrintError, match="'Letter'"):
        write_atlas(result, tmp_path / "x.pdf", paper="Letter")


def test_record_forms_pdf(result, tmp_path):
    pdf = forms.write_forms_pdf(result, tmp_path / "forms.pdf")
    pages, _ = _pages(pdf)
    assert pages == len(result.visits)
    text = _text(pdf, 1)
    for label in ("界桩编号", "界桩状况", "方位物", "字迹清晰", "照片编号", "备注", "甲方检查人签字", "乙方检查人签字"):
        assert label in text
    assert result.visits["marker_id"].iloc[0] in text


# -- layout: nothing off the page, labels apart, every missed marker named ------------------------

@pytest.fixture(scope="module")
def busy():
    """Two lines with clusters of markers (A/B pairs, C/D/E tri-points) for one team: crowded day pages."""
    r = inspection.plan_for_county(load_sample("330624"), 1, time_limit=1, as_of="2025-03-01",
                                   due_lines=["3138", "3139"])
    # two markers the plan cannot reach, with the planner's own reason texts
    ids = r.visits["marker_id"].iloc[[1, 7]].tolist()
    unr = pd.DataFrame({"reason": ["离道路过远: 1.8 km from the nearest road; 需徒步专项安排 (too far from a road)",
                                   "道路不连通: no road connection to any team base"]},
                       index=pd.Index(ids, name="marker_id"))
    return dataclasses.replace(r, unreachable=unr)


@pytest.fixture(scope="module")
def busy_pdf(busy, tmp_path_factory):
    return write_atlas(busy, tmp_path_factory.mktemp("atlas") / "atlas.pdf", per_line=True)


def _boxes_apart(boxes):
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i], boxes[j]
            w = min(a.x1, b.x1) - max(a.x0, b.x0)
            h = min(a.y1, b.y1) - max(a.y0, b.y0)
            assert w <= 0.01 or h <= 0.01, (i, j, a, b)


def test_atlas_labels_do_not_overlap(busy):
    """Rendered label boxes (the white box behind each label) never intersect each other or a stop disc."""
    import matplotlib
    import matplotlib.pyplot as plt

    from geoplan.maps.print import _Ctx, _day_page, _line_page, _missed_rows, cjk_rc

    ctx = _Ctx(busy)
    missed = _missed_rows(busy)
    n_moved = 0
    with matplotlib.rc_context(cjk_rc()):
        pages = [(_day_page, route) for route in busy.routes.itertuples()]
        pages += [(_line_page, "3139", missed)]
        for draw, *args in pages:
            fig = new_figure((297 / 25.4, 210 / 25.4))
            placer = draw(fig, ctx, busy, *args)
            fig.canvas.draw()
            r = fig.canvas.get_renderer()
            labels = [a.get_bbox_patch().get_window_extent(r) for a in placer.labels]
            assert len(labels) >= 3
            _boxes_apart(labels)
            # and no label sits on a disc or on another blocked symbol
            for lab in labels:
                for x0, y0, x1, y1 in placer.boxes[: len(placer.boxes) - len(labels)]:
                    w = min(lab.x1, x1) - max(lab.x0, x0)
                    h = min(lab.y1, y1) - max(lab.y0, y0)
                    assert w <= 0.5 or h <= 0.5, (lab, (x0, y0, x1, y1))
            # labels stay inside the map frame
            frame = placer.ax.get_window_extent(r)
            assert all(frame.x0 <= b.x0 and b.x1 <= frame.x1 and frame.y0 <= b.y0 and b.y1 <= frame.y1 for b in labels)
            n_moved += sum(a.arrow_patch is not None for a in placer.labels)
            plt.close(fig)
    assert n_moved > 0  # crowded pages really needed displaced labels with leader lines


def test_atlas_nothing_outside_the_page_and_missed_markers_named(busy, busy_pdf, tmp_path):
    pdf = busy_pdf
    pages, _ = _pages(pdf)
    assert pages == 1 + 2 + len(busy.routes)
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(pdf), str(tmp_path / "p")], check=True)
    for png in sorted(tmp_path.glob("p-*.png")):
        im = np.asarray(Image.open(png).convert("L"))
        edge = 2  # px at 30 dpi ≈ 1.7 mm
        for strip in (im[:, :edge], im[:, -edge:], im[:edge, :], im[-edge:, :]):
            assert strip.min() >= 250, f"{png.name}: something drawn at the page edge"
    overview = _text(pdf, 1)
    for mid in busy.unreachable.index:
        assert mid in overview
    assert "离道路过远" in overview and "道路不连通" in overview and "需徒步专项安排" in overview
    assert "too far" not in overview  # reasons in Chinese only
    assert re.search(r"无法到达\s*2\s*个", overview)
    line_page = _text(pdf, 2)
    assert "界线图" in line_page and "3138" in line_page


def test_every_page_artist_is_on_the_sheet(result):
    import matplotlib
    import matplotlib.pyplot as plt

    from geoplan.maps.print import _Ctx, _day_page, _missed_rows, _missed_table, _overview_page, cjk_rc

    ctx = _Ctx(result)
    with matplotlib.rc_context(cjk_rc()):
        for orientation in ((297, 210), (210, 297)):
            size = (orientation[0] / 25.4, orientation[1] / 25.4)
            for draw in ("overview", "day"):
                fig = new_figure(size)
                if draw == "overview":
                    missed = _missed_rows(result)
                    _missed_table(fig, missed, _overview_page(fig, ctx, result, size[0] / size[1], missed))
                else:
                    _day_page(fig, ctx, result, next(result.routes.itertuples()))
                tight = fig.get_tightbbox(fig.canvas.get_renderer())
                assert tight.x0 >= 0 and tight.y0 >= 0 and tight.x1 <= size[0] and tight.y1 <= size[1], \
                    (draw, orientation, tight)
                plt.close(fig)
