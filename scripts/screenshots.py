"""Pictures of the demo's outputs for the READMEs (maps/screenshots/), as a person sees them.

Runs the demo into a temporary folder, opens each HTML map in Debian's
chromium (through playwright) at 1366×768, renders pages of the atlas with
``pdftoppm`` and writes the A4 static coverage map, then shrinks every picture
to a README size. Run from the project folder after a change to what the
outputs look like::

    .venv/bin/python scripts/screenshots.py            # 新昌县
    .venv/bin/python scripts/screenshots.py --county 330727

Needs the test extras (playwright) and the system packages (chromium, poppler).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "maps" / "screenshots"
CHROMIUM = "/usr/bin/chromium"


def shrink(src: Path, dst: Path, width: int) -> Path:
    """``src`` scaled to ``width`` pixels wide, as an optimised palette PNG (README-sized)."""
    from PIL import Image

    img = Image.open(src).convert("RGB")
    if img.width > width:
        img = img.resize((width, round(img.height * width / img.width)), Image.LANCZOS)
    img.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(dst, optimize=True)
    return dst


def browser_shots(pages: dict[str, Path], tmp: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    done = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        for name, html in pages.items():
            page.goto(html.as_uri())
            page.wait_for_timeout(1500)  # tiles are off (offline map); let Leaflet lay out
            raw = tmp / f"{name}_raw.png"
            page.screenshot(path=str(raw))
            done.append(shrink(raw, OUT / f"{name}.png", 1366))
        browser.close()
    return done


def pdf_page(pdf: Path, page: int, name: str, tmp: Path, width: int = 1000) -> Path:
    stem = tmp / f"{name}_raw"
    subprocess.run(["pdftoppm", "-png", "-r", "110", "-f", str(page), "-l", str(page), "-singlefile",
                    str(pdf), str(stem)], check=True)
    return shrink(stem.with_suffix(".png"), OUT / f"{name}.png", width)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--county", default="330624")
    args = ap.parse_args(argv)
    from geoplan.demo import run_demo
    from geoplan.layers.sample import load_sample
    from geoplan.maps.static import coverage_static

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        res = run_demo(tmp / "demo", args.county)
        c = args.county
        shots = browser_shots({"coverage": tmp / "demo" / f"{c}_coverage.html",
                               "inspection": tmp / "demo" / f"{c}_inspection.html",
                               "gazetteer": tmp / "demo" / f"{c}_gazetteer.html"}, tmp)
        atlas = tmp / "demo" / f"{c}_inspection_atlas.pdf"
        shots += [pdf_page(atlas, 1, "atlas_overview", tmp), pdf_page(atlas, 2, "atlas_day", tmp)]
        static = coverage_static(load_sample(c), res.evaluation, tmp / "static.png", dpi=110)
        shots.append(shrink(static, OUT / "coverage_static.png", 1200))
    for s in shots:
        print(f"{s.relative_to(ROOT)}  {s.stat().st_size / 1e3:.0f} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
