"""Every command writes through geoplan.output (issue 21): no overwrite without --overwrite, no live formula,
no input touched.

Each writing command is run twice into the same files: the second run without --overwrite exits non-zero with
the Chinese refusal and leaves every file byte-identical; with --overwrite it succeeds. Names carrying formula
text (``=HYPERLINK(...)``, ``+SUM(1)``, ``@cmd``, ``-2+3``) come out of every XLSX as string cells (the sheet
XML holds no ``<f>``) and out of every CSV quoted, and read back equal through ``output.read_csv``. Every input
file is hashed before and after.
"""

from __future__ import annotations

import csv
import hashlib
import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from geoplan import output
from geoplan.cli.main import main
from geoplan.layers.sample import layers_dir, load_sample

ROOT = Path(__file__).resolve().parents[1]
BAD = ['=HYPERLINK("http://x","y")', "+SUM(1)", "@cmd", "-2+3"]
REFUSED = "已存在，未作任何改动"


def _tree(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``folder`` (the temporary folders included)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _hash(paths) -> dict[str, str]:
    return {str(p): hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths}


def _run(args):
    res = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in res.output
    return res


def _twice(args, folder: Path, inputs=()):
    """Run ``args``; again (refused, nothing changed); again with --overwrite (succeeds). Returns the files."""
    before_inputs = _hash(inputs)
    first = _run(args)
    assert first.exit_code == 0, first.output
    written = _tree(folder)
    assert written, "the command wrote nothing"
    assert not [k for k in written if "/." in "/" + k or k.startswith(".")], written  # no temporary left over
    again = _run(args)
    assert again.exit_code != 0 and REFUSED in again.output and "--overwrite" in again.output, again.output
    assert _tree(folder) == written  # byte-identical, and nothing new
    forced = _run(list(args) + ["--overwrite"])
    assert forced.exit_code == 0, forced.output
    assert set(_tree(folder)) == set(written)
    assert _hash(inputs) == before_inputs  # inputs unchanged
    return written


# ---------------------------------------------------------------------- checks on what was written
def _check_no_formulas(folder: Path, skip=()) -> dict[str, list[str]]:
    """Every XLSX cell not a formula, every CSV cell neutralised; returns the text read back per file."""
    texts = {}
    for p in sorted(folder.rglob("*")):
        if p in skip:
            continue
        if p.suffix == ".xlsx":
            with zipfile.ZipFile(p) as z:
                for name in z.namelist():
                    if name.startswith("xl/worksheets/sheet"):
                        assert not re.search(rb"<f[ >]", z.read(name)), f"{p.name}:{name} holds a formula"
            wb = openpyxl.load_workbook(p)
            cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
            assert not [c.coordinate for c in cells if c.data_type == "f"], p
            texts[p.name] = [c.value for c in cells if isinstance(c.value, str)]
        elif p.suffix == ".csv":
            with open(p, encoding="utf-8-sig", newline="") as fh:
                for row in csv.reader(fh):
                    for cell in row:
                        if cell[:1] in output.TRIGGERS:
                            float(cell)  # only a plain number may start like a formula
            df = output.read_csv(p)
            texts[p.name] = [v for col in df.columns for v in df[col].tolist() if isinstance(v, str)] + list(df.columns)
    return texts


def _found(texts: dict[str, list[str]], names) -> set[str]:
    return {b for b in names for vals in texts.values() for v in vals if b in v}


# ---------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory):
    """A plan whose rule titles, and a county whose facility and village names, are formula text."""
    import pyogrio

    d = tmp_path_factory.mktemp("inputs")
    text = (ROOT / "plans" / "330727_2025.toml").read_text(encoding="utf-8")
    k = iter(BAD)

    def title(m):
        v = next(k, None)
        return m.group(0) if v is None else f"title = '{v}'"

    (d / "plan.toml").write_text(re.sub(r'^title = "[^"]*"', title, text, flags=re.M), encoding="utf-8")
    shutil.copy(layers_dir() / "330727.gpkg", d / "county.gpkg")
    shutil.copy(layers_dir() / "330727_population.tif", d / "county_population.tif")
    for layer in ("elderly_care", "villages"):
        gdf = pyogrio.read_dataframe(d / "county.gpkg", layer=layer)
        gdf.loc[:len(BAD) - 1, "name"] = [f"{b}" for b in BAD]
        if layer == "villages":  # every village a candidate with a formula name somewhere in the answer
            gdf["name"] = [BAD[i % len(BAD)] + f"村{i}" for i in range(len(gdf))]
        pyogrio.write_dataframe(gdf, d / "county.gpkg", layer=layer, driver="GPKG")
    return d


@pytest.fixture(scope="module")
def bad_plan(tmp_path_factory):
    """An inspection plan of 磐安县 whose line names and marker materials are formula text, and a filled form."""
    from geoplan.inspection import forms
    from geoplan.inspection.planning import plan_for_county

    d = tmp_path_factory.mktemp("plan")
    c = load_sample("330727")
    lines = c["boundary_lines"]
    lines["name"] = [BAD[i % len(BAD)] + f"线{i}" for i in range(len(lines))]
    markers = c["boundary_markers"]
    markers["material"] = [BAD[i % len(BAD)] for i in range(len(markers))]
    result = plan_for_county(c, 2, time_limit=2, as_of="2026-11-23")
    plan = result.save(d / "330727_inspection_plan.gpkg")
    src = forms.write_forms_xlsx(result, d / "blank_forms.xlsx")
    wb = openpyxl.load_workbook(src)
    ws = wb.active
    col = {cell.value: cell.column for cell in ws[1]}
    for r in range(2, min(ws.max_row, 12) + 1):
        ws.cell(r, col["界桩状况"]).value = "完好" if r % 3 else "损坏"
        ws.cell(r, col["检查日期"]).value = "2026-11-24"
        ws.cell(r, col["备注"]).value = BAD[r % len(BAD)]
        ws.cell(r, col["备注"]).data_type = "s"
    wb.save(d / "filled.xlsx")
    (d / "blank_forms.xlsx").unlink()
    return plan, d / "filled.xlsx"


# ---------------------------------------------------------------------- the commands
@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_coverage_report(bad_inputs, tmp_path, suffix):
    out = tmp_path / f"报告{suffix}"
    inputs = [bad_inputs / "plan.toml", bad_inputs / "county.gpkg", bad_inputs / "county_population.tif"]
    _twice(["coverage", "--plan", inputs[0], "--layers", inputs[1], "--population", inputs[2], "--no-travel",
            "--out", out], tmp_path, inputs)
    texts = _check_no_formulas(tmp_path)
    assert _found(texts, BAD) == set(BAD)  # every formula text came out, as text


@pytest.mark.parametrize("suffix", [".csv", ".gpkg"])
def test_site_out(bad_inputs, tmp_path, suffix):
    out = tmp_path / f"sites{suffix}"
    inputs = [bad_inputs / "county.gpkg", bad_inputs / "county_population.tif"]
    _twice(["site", "mclp", "--new", "2", "--layers", inputs[0], "--population", inputs[1], "--minutes", "15",
            "--time-limit", "10", "--out", out], tmp_path, inputs)
    if suffix == ".csv":
        texts = _check_no_formulas(tmp_path)
        assert _found(texts, BAD)  # the chosen villages' formula names read back as written
        raw = out.read_text(encoding="utf-8-sig")
        assert not re.search(r"(^|,)[=+@]", raw, flags=re.M)


def test_validate_out(bad_inputs, tmp_path):
    inputs = [bad_inputs / "county.gpkg"]
    _twice(["validate", inputs[0], "--kind", "elderly_care", "--layer", "elderly_care", "--out",
            tmp_path / "clean.gpkg"], tmp_path, inputs)


def _partner(plan) -> str:
    from geoplan.inspection.planning import InspectionResult
    from geoplan.inspection.share import partner_codes

    return sorted(partner_codes(InspectionResult.load(plan)))[0]


def test_inspect_commands(bad_plan, tmp_path):
    plan, filled = bad_plan
    inputs = [plan, filled]
    _twice(["inspect", "forms", plan, "--out", tmp_path / "forms"], tmp_path / "forms", inputs)
    (tmp_path / "atlas").mkdir()
    _twice(["inspect", "atlas", plan, "--out", tmp_path / "atlas" / "图集.pdf"], tmp_path / "atlas", inputs)
    (tmp_path / "share").mkdir()
    _twice(["inspect", "share", plan, "--partner", _partner(plan), "--out", tmp_path / "share" / "s.zip"],
           tmp_path / "share", inputs)
    _twice(["inspect", "import", plan, filled, "--no-replan", "--out", tmp_path / "import"], tmp_path / "import",
           inputs)
    texts = _check_no_formulas(tmp_path)
    assert _found({k: v for k, v in texts.items() if "forms" in k}, BAD) == set(BAD)
    assert _found({k: v for k, v in texts.items() if "results" in k}, BAD) == set(BAD)  # remarks read back
    from geoplan.inspection.results import load_results

    _, history = load_results(tmp_path / "import" / "330727_inspection_results.gpkg")
    assert set(history["remarks"]) >= set(BAD)  # the typed remarks, exactly, not quoted


def test_inspect_plan_and_programme(tmp_path):
    _twice(["inspect", "plan", "--county", "330727", "--time-limit", "2", "--as-of", "2026-11-23",
            "--out", tmp_path / "plan"], tmp_path / "plan")
    _twice(["inspect", "programme", "--county", "330727", "--start-year", "2026", "--out", tmp_path / "prog"],
           tmp_path / "prog")
    _check_no_formulas(tmp_path)


def test_province_on_the_two_samples(tmp_path):
    layers = tmp_path / "layers"
    layers.mkdir()
    for code in ("330624", "330727"):
        shutil.copy(layers_dir() / f"{code}.gpkg", layers / f"{code}.gpkg")
        shutil.copy(layers_dir() / f"{code}_population.tif", layers / f"{code}_population.tif")
    from geoplan.province.inputs import SAMPLE_TEMPLATE

    template = tmp_path / "template.toml"
    template.write_text(SAMPLE_TEMPLATE, encoding="utf-8")
    inputs = sorted(layers.iterdir()) + [template]
    out = tmp_path / "out"
    _twice(["province", "330624", "330727", "--layers", layers, "--plan-template", template, "--no-travel",
            "--serial", "--cache", tmp_path / "cache", "--out", out], out, inputs)
    texts = _check_no_formulas(out)
    assert any("新昌县" in v for vals in texts.values() for v in vals)


def test_demo_replaces_only_its_own_files_and_checks_the_font_first(tmp_path, monkeypatch):
    from geoplan.maps import print as mprint

    notes = tmp_path / "330727_我的笔记.csv"
    notes.write_text("=1+1,我的\n", encoding="utf-8")
    keep = _hash([notes])
    inputs = sorted(layers_dir().glob("330727*")) + sorted((ROOT / "plans").rglob("330727_*.toml"))
    before = _hash(inputs)

    def no_font():
        raise mprint.PrintError("No Chinese (CJK) font is installed")

    monkeypatch.setattr(mprint, "cjk_font_path", no_font)
    res = _run(["demo", "--county", "330727", "--out", tmp_path])
    assert res.exit_code == 1 and "CJK" in res.output
    assert _tree(tmp_path) == {notes.name: keep[str(notes)]}  # nothing written before the refusal
    monkeypatch.undo()

    res = _run(["demo", "--county", "330727", "--out", tmp_path])
    assert res.exit_code == 0, res.output
    first = _tree(tmp_path)
    res = _run(["demo", "--county", "330727", "--out", tmp_path])
    assert res.exit_code == 0, res.output  # the demo replaces its own files
    assert set(_tree(tmp_path)) == set(first)  # no temporary or renamed copies left over
    assert _hash([notes]) == keep and _hash(inputs) == before
    texts = _check_no_formulas(tmp_path, skip=[notes])
    assert len([k for k in texts if k.endswith(".csv")]) >= 6 and len([k for k in texts if k.endswith(".xlsx")]) >= 4


def test_a_demo_file_name_taken_by_a_folder_is_refused_before_anything_is_written(tmp_path):
    (tmp_path / "330727_inspection_atlas.pdf").mkdir()
    res = _run(["demo", "--county", "330727", "--out", tmp_path])
    assert res.exit_code == 1 and "文件夹" in res.output
    assert [p.name for p in tmp_path.iterdir()] == ["330727_inspection_atlas.pdf"]


def test_an_input_is_never_an_output_even_with_overwrite(bad_inputs, bad_plan, tmp_path):
    plan, _ = bad_plan
    gpkg = bad_inputs / "county.gpkg"
    before = _hash([plan, gpkg])
    for args in (["inspect", "atlas", plan, "--out", plan, "--overwrite"],
                 ["inspect", "share", plan, "--partner", _partner(plan), "--out", plan, "--overwrite"],
                 ["validate", gpkg, "--kind", "elderly_care", "--layer", "elderly_care", "--out", gpkg, "--overwrite"],
                 ["site", "mclp", "--new", "1", "--layers", gpkg, "--population", bad_inputs / "county_population.tif",
                  "--out", gpkg, "--overwrite"]):
        res = _run(args)
        assert res.exit_code != 0 and "就是输入文件" in res.output, (args, res.output)
    assert _hash([plan, gpkg]) == before


def test_map_commands_never_replace_a_file_without_overwrite(tmp_path):
    """geoplan map …: an existing --out / --png is refused unchanged; --overwrite replaces it."""
    from click.testing import CliRunner

    from geoplan.cli.main import main

    out = tmp_path / "地名.html"
    first = CliRunner().invoke(main, ["map", "gazetteer", "--out", str(out), "--offline"])
    assert first.exit_code == 0, first.output
    before = out.read_bytes()
    again = CliRunner().invoke(main, ["map", "gazetteer", "--out", str(out), "--offline"])
    assert again.exit_code == 1 and "已存在" in again.output and out.read_bytes() == before
    png = tmp_path / "覆盖.png"
    png.write_bytes(b"not a map")
    refused = CliRunner().invoke(main, ["map", "coverage", "--plan", str(ROOT / "plans" / "330624_2022.toml"), "--no-travel",
                                        "--png", str(png)])
    assert refused.exit_code == 1 and png.read_bytes() == b"not a map"
    replaced = CliRunner().invoke(main, ["map", "gazetteer", "--out", str(out), "--offline", "--overwrite"])
    assert replaced.exit_code == 0 and out.read_bytes() != b""
