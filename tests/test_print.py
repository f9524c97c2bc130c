"""The printed atlas and record forms: pages, Chinese text, paper size."""

import re
import shutil
import subprocess

import pytest

from geoplan.inspection import forms
from geoplan.inspection import planning as inspection
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
    # Type 3 fonts: pdftotext lifts single-byte glyphs (the team and day numbers) out of the CJK run
    assert re.search(r"作业图\s*第\s*组\s*第\s*天", day) and str(r["date"]) in day
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
    with pytest.raises(PrintError, match="paper"):
        write_atlas(result, tmp_path / "x.pdf", paper="Letter")


def test_record_forms_pdf(result, tmp_path):
    pdf = forms.write_forms_pdf(result, tmp_path / "forms.pdf")
    pages, _ = _pages(pdf)
    assert pages == len(result.visits)
    text = _text(pdf, 1)
    for label in ("界桩编号", "界桩状况", "方位物", "字迹清晰", "照片编号", "备注", "甲方检查人签字", "乙方检查人签字"):
        assert label in text
    assert result.visits["marker_id"].iloc[0] in text
