"""The province report, the inspection record forms and the results report in both languages.

English mode: no Chinese text a person reads except data (place names, plan texts, the schema's stored
values such as 完好); Chinese mode: no English word outside the allow-list of tests/test_i18n_scan.py. The
forms written in English are read back as the Chinese ones are.
"""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from geoplan import i18n
from tests.test_i18n_scan import ALLOWED, HAN, chinese_ui, data_chinese, data_words, english_words

ROOT = Path(__file__).resolve().parents[1]
LANGS = ("zh_CN", "en")


def _texts(path: Path) -> list[str]:
    """What a person reads in one written file."""
    if path.suffix == ".csv":
        df = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
        return list(df.columns) + [v for v in df.to_numpy().ravel() if v]
    if path.suffix == ".xlsx":
        import openpyxl

        wb = openpyxl.load_workbook(path)
        out = []
        for ws in wb.worksheets:
            out.append(ws.title)
            out += [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
            out += [dv.formula1 for dv in ws.data_validations.dataValidation]  # the drop-down lists
            out.append(ws.oddFooter.center.text or "")
        return out
    if path.suffix == ".pdf":
        return [subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                               check=True).stdout]
    raise AssertionError(path)


def _plan_texts() -> set[str]:
    """Chinese of the sample plans and the province template: the documents' own words are data."""
    from geoplan.province.inputs import SAMPLE_TEMPLATE

    text = SAMPLE_TEMPLATE + "".join(p.read_text(encoding="utf-8") for p in (ROOT / "plans").glob("*.toml"))
    return set(HAN.findall(text))


def _layer_names() -> set[str]:
    """Chinese of every name in the samples' layers (facilities, lines, markers …): data."""
    from geoplan.layers.sample import load_sample

    runs = set()
    for code in ("330624", "330727"):
        for layer in load_sample(code).layers.values():
            for col in ("name", "base_name", "left_name", "right_name"):
                if col in getattr(layer, "columns", ()):
                    runs.update(HAN.findall(" ".join(map(str, layer[col].tolist()))))
    return runs


@pytest.fixture(scope="module")
def data():
    return data_chinese() | _plan_texts() | _layer_names()


@pytest.fixture(scope="module")
def allowed():
    return ALLOWED | data_words()


def _scan(files, lang, data, allowed) -> dict:
    found = {}
    for f in files:
        for text in _texts(Path(f)):
            text = str(text)
            bad = chinese_ui(text, data) if lang == "en" else english_words(text, allowed)
            for w in bad:
                found.setdefault(f"{Path(f).name}: {w}", text[:120])
    return found


@pytest.fixture(scope="module")
def province_files(tmp_path_factory):
    """The province report of the two sample counties (serial, no travel times), in each language."""
    from geoplan.layers.sample import layers_dir
    from geoplan.province.inputs import county_inputs
    from geoplan.province.report import output_paths, province_tables, write_csvs, write_xlsx
    from geoplan.province.runner import run_province

    out = {}
    for lang in LANGS:
        i18n.set_language(lang)
        try:
            folder = tmp_path_factory.mktemp(f"province_{lang}")
            todo, skipped = county_inputs([layers_dir()], codes=["330624", "330727", "330726"],
                                          plans_dir=ROOT / "plans", travel=False)
            run = run_province(todo, skipped=skipped)
            tables = province_tables(run.results, run.skipped)
            paths = output_paths(folder)
            files = [write_xlsx(tables, paths["xlsx"], title="t")] + write_csvs(tables, paths)
            out[lang] = (files, tables)
        finally:
            i18n.set_language(None)
    return out


@pytest.mark.parametrize("lang", LANGS)
def test_province_report_speaks_one_language(province_files, lang, data, allowed):
    files, tables = province_files[lang]
    # the units are the evaluation's, shown as `geoplan coverage` shows them (个乡镇(街道), 张/万人): data here
    from geoplan.province.report import SHEETS, UNIT

    t = i18n.catalog(lang).gettext
    units = set(HAN.findall(" ".join(map(str, tables[t(SHEETS["county_rules"])][t(UNIT)]))))
    assert _scan(files, lang, data | units, allowed) == {}


def test_province_report_same_numbers_in_both_languages(province_files):
    zh, en = province_files["zh_CN"][1], province_files["en"][1]
    assert list(zh) != list(en) and len(zh) == len(en)
    for (zname, a), (ename, b) in zip(zh.items(), en.items()):
        assert a.shape == b.shape, zname
        assert list(a.columns) != list(b.columns)
        numeric = [c for c in a.columns if pd.api.types.is_numeric_dtype(a[c]) and c != "计算用时(秒)"]
        for c in numeric:
            pd.testing.assert_series_equal(a[c], b[b.columns[list(a.columns).index(c)]], check_names=False)


@pytest.fixture(scope="module")
def campaign():
    import geoplan as gp

    return gp.plan_for_county(gp.load_sample("330624"), time_limit=1, start_date="2026-09-01")


def _filled(campaign, lang, folder: Path) -> Path:
    """The campaign's form written in ``lang`` and filled in as a team would, in that language."""
    import openpyxl

    from geoplan.inspection.forms import write_forms_xlsx

    i18n.set_language(lang)
    try:
        path = write_forms_xlsx(campaign, folder / "forms.xlsx")
    finally:
        i18n.set_language(None)
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    head = {c.value: c.column for c in ws[1]}
    words = {"zh_CN": ("完好", "损坏", "维护", "是", "2026-09-02"), "en": ("intact", "damaged", "maintain", "yes",
                                                                        "2026-09-02")}[lang]
    cond, act, ok = {"zh_CN": ("界桩状况", "处理意见", "字迹清晰"), "en": ("marker condition", "action",
                                                                   "lettering legible")}[lang]
    first = True
    for row in ws.iter_rows(min_row=2):
        if row[head["line code" if lang == "en" else "界线编号"] - 1].value == "3140":
            continue  # that line's forms are not back yet
        row[head[cond] - 1].value = words[1] if first else words[0]
        row[head[act] - 1].value = words[2] if first else ""
        row[head[ok] - 1].value = words[3]
        first = False
    filled = folder / "filled.xlsx"
    wb.save(filled)
    return filled


@pytest.mark.parametrize("lang", LANGS)
def test_forms_speak_one_language(campaign, lang, tmp_path, data, allowed):
    from geoplan.inspection.forms import write_forms_pdf, write_forms_xlsx

    i18n.set_language(lang)
    try:
        one = dataclasses.replace(campaign, visits=campaign.visits.head(2))
        files = [write_forms_xlsx(campaign, tmp_path / "forms.xlsx"), write_forms_pdf(one, tmp_path / "forms.pdf")]
    finally:
        i18n.set_language(None)
    data = data | set(HAN.findall(" ".join(map(str, campaign.areas.values()))))
    assert _scan(files, lang, data, allowed) == {}


def test_forms_filled_in_english_import_as_the_chinese_ones(campaign, tmp_path):
    from geoplan.inspection.results import import_results

    got = {}
    for lang in LANGS:
        folder = tmp_path / lang
        folder.mkdir()
        got[lang] = import_results(campaign, _filled(campaign, lang, folder))
    zh, en = got["zh_CN"], got["en"]
    assert len(zh.history) == len(en.history) > 0
    cols = ["marker_id", "condition", "action", "lettering_ok"]
    pd.testing.assert_frame_equal(zh.history[cols].reset_index(drop=True), en.history[cols].reset_index(drop=True))
    assert set(en.history["condition"]) == {"完好", "损坏"}  # stored as the schema's values
    assert en.repairs["action"].tolist() == ["维护"]


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_forms_and_results_report_speak_one_language(campaign, lang, tmp_path, data, allowed):
    from geoplan.inspection.forms import write_forms_pdf, write_forms_xlsx
    from geoplan.inspection.report import campaign_report, write_report_pdf, write_report_xlsx, write_results_xlsx
    from geoplan.inspection.results import import_results

    from geoplan.inspection.results import campaign_id

    (tmp_path / "filled").mkdir()
    names = set(campaign.areas.values()) if hasattr(campaign.areas, "values") else set()
    # the campaign's ID (330624-2026年度-…) is a stored key, like a place name
    data = data | {h for n in names for h in HAN.findall(str(n))} \
        | set(HAN.findall(" ".join(campaign.lines["name"].astype(str)))) | set(HAN.findall(campaign_id(campaign)))
    filled = _filled(campaign, "zh_CN", tmp_path / "filled")
    i18n.set_language(lang)
    try:
        # a form filled in Chinese, imported and reported in one run (one language), as `inspect import` does
        imported = import_results(campaign, filled)
        one = dataclasses.replace(campaign, visits=campaign.visits.head(2))
        files = [write_forms_xlsx(campaign, tmp_path / "forms.xlsx"), write_forms_pdf(one, tmp_path / "forms.pdf"),
                 write_results_xlsx(imported, tmp_path / "results.xlsx")]
        report = campaign_report(campaign, imported)
        files += [write_report_xlsx(report, tmp_path / "report.xlsx"), write_report_pdf(report, tmp_path / "report.pdf")]
    finally:
        i18n.set_language(None)
    assert _scan(files, lang, data, allowed) == {}
