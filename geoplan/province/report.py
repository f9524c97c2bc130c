"""The province report: tables by county, township and prefecture, written as XLSX and CSV.

:func:`province_tables` turns the counties' results into DataFrames with
Chinese headers; :func:`write_report` writes them. Numbers are what they
are: counts are whole numbers, shares are percentages (a column headed
``(%)``, or a ``单位`` column saying ``%`` where one column mixes kinds of
rule), per-population rates per 10,000 with one decimal. Every county keeps
its own plan's targets: the tables show, row by row, the target the county
set itself.

Outputs are written atomically (a temporary file in the same folder, then a
rename) and never replace an existing file unless asked; text from the data
(names, reasons) never becomes a spreadsheet formula.

Examples in this module use ``prov`` (a province run of 磐安县 alone), ``tmp`` (an empty folder)
(``import geoplan as gp``); pytest builds them once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from geoplan.coverage.evaluation import FAIL, NOT_REQUIRED, PASS, UNKNOWN
from geoplan.coverage.report import status_text
from geoplan.i18n import N_, _, ngettext
from geoplan.province.county import CountyResult, stage_text
from geoplan.province.inputs import ProvinceError, county_table


#: Indicators the province map can colour townships by (key → name, translated where shown).
INDICATORS = {
    "failed": N_("rules failed"),
    "within": N_("travel-time rule: share of people within the limit (%)"),
    "beyond": N_("travel-time rule: people beyond the limit"),
}

# The tables' headers: English message ids while a table is built, translated when it is returned.
PREF_CODE, PREF, COUNTY_CODE, COUNTY = N_("prefecture code"), N_("prefectural city"), N_("county code"), N_("county (city, district)")
STATUS, NOTE, PLAN, YEAR = N_("status"), N_("reason"), N_("plan"), N_("year evaluated")
N_TOWNS, POP, POP60 = N_("townships (number)"), N_("resident population"), N_("aged 60+")
N_RULES, N_PASSED, N_FAILED = N_("rules (number)"), N_("rules passed"), N_("rules failed")
N_NOT_REQUIRED, N_UNKNOWN = N_("rules not required"), N_("rules that cannot be evaluated")
PASS_RATE, TOWNS_FAILING = N_("share of rules passed (%)"), N_("townships failing a rule")
FAILED_RULES, SECONDS = N_("failed rules"), N_("compute time (s)")
RULE_ID, GROUP, TITLE, KIND = N_("rule ID"), N_("group"), N_("indicator"), N_("rule kind")
VALUE, TARGET, UNIT, OUTCOME = N_("current value"), N_("target value"), N_("unit"), N_("outcome")
TOWN_CODE, TOWN, PEOPLE, TOWN_KIND = N_("township code"), N_("township"), N_("people"), N_("division type")
N_EVALUATED, TRAVEL_RULE = N_("rules evaluated"), N_("travel-time rule")
WITHIN, BEYOND = N_("share of people within the time limit (%)"), N_("people beyond the time limit")
STAGE, WHY = N_("stage"), N_("why")
N_COUNTIES, N_DONE, N_NOT_DONE = N_("counties (number)"), N_("counties finished"), N_("counties not finished")
TOWNS_FAILING_SHARE = N_("share of townships failing a rule (%)")
COUNTY_PASS_RATE = N_("share of county rules passed (%)")
ALL_PASSED = N_("counties passing every county rule")
TRAVEL_BEYOND = N_("people beyond the travel-time limit")
N_EVAL_COUNTIES, N_PASS_COUNTIES = N_("counties evaluated"), N_("counties passing")
N_UNKNOWN_COUNTIES, N_REQ_TOWNS = N_("counties that cannot be evaluated"), N_("townships required")
N_PASS_TOWNS, TOWN_PASS_RATE = N_("townships passing"), N_("share of townships passing (%)")
# the counties' states (the 状态 column), and the stage of a county that was never run
DONE, DONE_CACHED, FAILED, NOT_RUN = N_("finished"), N_("finished (from the cache)"), N_("failed"), N_("not run")
PREPARING, WHOLE_PROVINCE = N_("preparation"), N_("whole province")

#: The report's tables: key (the CSV file's name, never translated) → sheet name.
SHEETS = {"prefectures": N_("prefecture summary"), "counties": N_("by county"), "county_rules": N_("county rules"),
          "townships": N_("by township"), "township_rules": N_("township rules"),
          "prefecture_rules": N_("rules by prefecture"), "failed": N_("not finished")}


def sheet(key: str) -> str:
    """The name of table ``key`` of :data:`SHEETS` in the current language (its key in :func:`province_tables`).

    >>> from geoplan.i18n import set_language
    >>> set_language("zh_CN"); sheet("townships")
    '乡镇'
    >>> set_language("en"); sheet("townships")
    'by township'
    >>> set_language(None)
    """
    return _(SHEETS[key])


def _translated(df: pd.DataFrame) -> pd.DataFrame:
    return df.rename(columns={c: _(c) for c in df.columns})


def _places(code: str) -> tuple[str, str]:
    """(prefecture code, prefecture name) of a county code from the official list."""
    t = county_table()
    if code in t.index:
        return str(t.loc[code, "city_code"])[:6].ljust(6, "0"), str(t.loc[code, "city_name"])
    return code[:4] + "00", ""


def _pct(v):
    return None if v is None or pd.isna(v) else round(100.0 * float(v), 1)


def _shown(value, unit: str):
    """A value of the evaluation in the unit a planner reads: shares as percentages, rates with one decimal,
    counts whole; text (a not-evaluable target as the document words it) stays text."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, str):
        return value
    unit = str(unit)
    if unit == "%":
        return _pct(value)
    if "万" in unit:
        return round(float(value), 1)
    v = float(value)
    return int(round(v)) if v == round(v) else round(v, 2)


def _count(v):
    return None if v is None or pd.isna(v) else int(round(float(v)))


def _unit_text(unit) -> str:
    unit = "" if unit is None or (not isinstance(unit, str) and pd.isna(unit)) else str(unit)
    return unit[1:] if unit.startswith("/") else unit  # "/万人" reads "万人" beside a value: 2.5 万人 would be wrong


def province_tables(results: Sequence[CountyResult], skipped: Sequence[tuple[str, str]] = ()) -> dict[str, pd.DataFrame]:
    """The report's tables, headers and sheet names in the current language.

    Returns
    -------
    dict of str to DataFrame
        By sheet name (:func:`sheet` of the keys of :data:`SHEETS`): the
        prefecture summary (one row per prefecture and a whole-province row),
        one row per county, county × rule, one row per township (with the
        map's indicators), township × rule, prefecture × rule, and the failed
        or skipped counties. Outcomes are shown as words of the language
        (:func:`geoplan.coverage.report.status_text`); names, plan texts and
        reasons are the data's own.

    Examples
    --------
    ``prov`` is a province run of the 磐安县 sample alone, without travel times (the recipe is in
    ``geoplan/conftest.py``: :func:`~geoplan.province.inputs.county_inputs`, then :func:`run_province`).


    >>> t = province_tables(prov.results)
    >>> list(t)
    ['地市汇总', '县', '县级指标', '乡镇', '乡镇指标', '地市分指标', '未完成']
    >>> len(t["乡镇"]), t["县"]["县(市、区)"].tolist()
    (14, ['磐安县'])
    """
    county_rows, rule_rows, town_rule_rows, town_rows, fail_rows = [], [], [], [], []
    for r in results:
        pcode, pname = _places(r.code)
        if not r.ok:
            fail_rows.append({PREF: pname, COUNTY_CODE: r.code, COUNTY: r.name or _places_name(r.code),
                              STAGE: stage_text(r.stage), WHY: r.reason})
            county_rows.append({PREF_CODE: pcode, PREF: pname, COUNTY_CODE: r.code,
                                COUNTY: r.name or _places_name(r.code), STATUS: _(FAILED), NOTE: r.reason})
            continue
        ev = r.evaluation
        kinds = {rule.id: rule.kind for rule in ev.plan.rules}
        towns = r.townships
        base = {PREF_CODE: pcode, PREF: pname, COUNTY_CODE: r.code, COUNTY: r.name}
        # The evaluation's own tables, as `geoplan coverage` writes them: one row per target of the document
        # (statistic, village-level and not-evaluable targets included), and the township rows it produced.
        # Outcomes stay the evaluation's values here (they are counted below) and are translated at the end.
        for s in ev.summary.itertuples(index=False):
            rule_rows.append({**base, RULE_ID: s.rule_id, GROUP: s.group, TITLE: s.title, KIND: s.kind,
                              VALUE: _shown(s.value, s.unit), TARGET: _shown(s.target, s.unit),
                              UNIT: _unit_text(s.unit), OUTCOME: s.status, NOTE: s.reason})
        t = ev.townships
        for row in t.itertuples(index=False):
            town_rule_rows.append({**base, TOWN_CODE: row.code, TOWN: row.name, RULE_ID: row.rule_id,
                                   GROUP: row.group, TITLE: row.title, PEOPLE: _count(row.population),
                                   VALUE: _shown(row.value, row.unit), TARGET: _shown(row.target, row.unit),
                                   UNIT: _unit_text(row.unit), OUTCOME: row.status, NOTE: row.reason})
        travel_ids = [rid for rid, k in kinds.items() if k == "travel_time"]
        travel = t[t["rule_id"] == travel_ids[0]].set_index("code") if travel_ids else None
        failing = t[t["passed"].eq(False)]
        for town in towns.itertuples(index=False):
            mine = failing[failing["code"] == town.code]
            row = {**base, TOWN_CODE: town.code, TOWN: town.name, TOWN_KIND: town.kind,
                   POP: _count(town.population), POP60: _count(town.pop_60plus),
                   N_EVALUATED: int(((t["code"] == town.code) & t["passed"].notna()).sum()),
                   N_FAILED: len(mine),
                   FAILED_RULES: "、".join(mine["title"]),
                   TRAVEL_RULE: "", WITHIN: None, BEYOND: None}
            if travel is not None and town.code in travel.index:
                tr = travel.loc[town.code]
                row[TRAVEL_RULE] = str(tr["title"])
                row[WITHIN] = _pct(tr["value"])
                if pd.notna(tr["value"]) and pd.notna(tr["population"]):
                    row[BEYOND] = _count(tr["population"] * (1.0 - tr["value"]))
            town_rows.append(row)
        summ = ev.summary
        evaluated = summ[summ["passed"].notna()]
        county_rows.append({
            **base, STATUS: _(DONE_CACHED) if r.cached else _(DONE), NOTE: "",
            PLAN: ev.plan.name, YEAR: ev.year, N_TOWNS: len(towns),
            POP: _count(towns["population"].sum()), POP60: _count(towns["pop_60plus"].sum()),
            N_RULES: len(summ), N_PASSED: int(evaluated["passed"].sum()),
            N_FAILED: int((~evaluated["passed"].astype(bool)).sum()),
            N_NOT_REQUIRED: int(summ["status"].eq(NOT_REQUIRED).sum()),
            N_UNKNOWN: int(summ["status"].eq(UNKNOWN).sum()),
            PASS_RATE: _pct(evaluated["passed"].mean()) if len(evaluated) else None,
            TOWNS_FAILING: int(failing["code"].nunique()),
            FAILED_RULES: "、".join(summ.loc[summ["passed"].eq(False), "title"]),
            SECONDS: round(r.seconds, 1),
        })
    for code, reason in skipped:
        pcode, pname = _places(code)
        fail_rows.append({PREF: pname, COUNTY_CODE: code, COUNTY: _places_name(code), STAGE: _(PREPARING),
                          WHY: reason})
        county_rows.append({PREF_CODE: pcode, PREF: pname, COUNTY_CODE: code, COUNTY: _places_name(code),
                            STATUS: _(NOT_RUN), NOTE: reason})
    counties = pd.DataFrame(county_rows)
    if counties.empty:
        raise ProvinceError(_("No county to report on."))
    counties = counties.sort_values(COUNTY_CODE, kind="stable").reset_index(drop=True)
    towns_df = pd.DataFrame(town_rows, columns=_TOWN_COLS)
    # object: the current value holds counts (处) and percentages in one column; each number stays as it is
    # (2, not 2.0).
    town_rules = pd.DataFrame(town_rule_rows, columns=_TOWN_RULE_COLS, dtype=object)
    rules = pd.DataFrame(rule_rows, columns=_RULE_COLS, dtype=object)
    tables = {
        "prefectures": _prefectures(counties, towns_df),
        "counties": counties.reindex(columns=_COUNTY_COLS),
        "county_rules": rules,
        "townships": towns_df,
        "township_rules": town_rules,
        "prefecture_rules": _prefecture_rules(rules, town_rules),
        "failed": pd.DataFrame(fail_rows, columns=[PREF, COUNTY_CODE, COUNTY, STAGE, WHY]),
    }
    for key in ("county_rules", "township_rules"):
        tables[key][OUTCOME] = tables[key][OUTCOME].map(status_text)
    return {sheet(key): _translated(df) for key, df in tables.items()}


def _places_name(code: str) -> str:
    t = county_table()
    return str(t.loc[code, "county_name"]) if code in t.index else ""


_COUNTY_COLS = [PREF_CODE, PREF, COUNTY_CODE, COUNTY, STATUS, NOTE, PLAN, YEAR, N_TOWNS, POP, POP60, N_RULES,
                N_PASSED, N_FAILED, N_NOT_REQUIRED, N_UNKNOWN, PASS_RATE, TOWNS_FAILING, FAILED_RULES, SECONDS]
_RULE_COLS = [PREF_CODE, PREF, COUNTY_CODE, COUNTY, RULE_ID, GROUP, TITLE, KIND, VALUE, TARGET, UNIT, OUTCOME, NOTE]
_TOWN_RULE_COLS = [PREF_CODE, PREF, COUNTY_CODE, COUNTY, TOWN_CODE, TOWN, RULE_ID, GROUP, TITLE, PEOPLE, VALUE,
                   TARGET, UNIT, OUTCOME, NOTE]
_TOWN_COLS = [PREF_CODE, PREF, COUNTY_CODE, COUNTY, TOWN_CODE, TOWN, TOWN_KIND, POP, POP60, N_EVALUATED, N_FAILED,
              FAILED_RULES, TRAVEL_RULE, WITHIN, BEYOND]


def _prefectures(counties: pd.DataFrame, towns: pd.DataFrame) -> pd.DataFrame:
    done = counties[counties[STATUS].isin([_(DONE), _(DONE_CACHED)])]
    rows = []
    groups = list(counties.groupby([PREF_CODE, PREF], sort=True)) + [(("", _(WHOLE_PROVINCE)), counties)]
    for (pcode, pname), part in groups:
        d = done[done[COUNTY_CODE].isin(part[COUNTY_CODE])]
        tw = towns[towns[COUNTY_CODE].isin(d[COUNTY_CODE])]
        n_rules = d[N_PASSED].sum() + d[N_FAILED].sum() if len(d) else 0
        rows.append({
            PREF_CODE: pcode, PREF: pname, N_COUNTIES: len(part), N_DONE: len(d), N_NOT_DONE: len(part) - len(d),
            N_TOWNS: len(tw), POP: _count(tw[POP].sum()) if len(tw) else 0,
            POP60: _count(tw[POP60].sum()) if len(tw) else 0,
            TOWNS_FAILING: int((tw[N_FAILED] > 0).sum()),
            TOWNS_FAILING_SHARE: _pct((tw[N_FAILED] > 0).mean()) if len(tw) else None,
            COUNTY_PASS_RATE: _pct(d[N_PASSED].sum() / n_rules) if n_rules else None,
            ALL_PASSED: int((d[N_FAILED] == 0).sum()),
            TRAVEL_BEYOND: _count(tw[BEYOND].sum()) if tw[BEYOND].notna().any() else None,
        })
    return pd.DataFrame(rows)


def _prefecture_rules(rules: pd.DataFrame, town_rules: pd.DataFrame) -> pd.DataFrame:
    cols = [PREF_CODE, PREF, RULE_ID, TITLE, N_EVAL_COUNTIES, N_PASS_COUNTIES, N_UNKNOWN_COUNTIES, N_REQ_TOWNS,
            N_PASS_TOWNS, TOWN_PASS_RATE]
    if rules.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for (pcode, pname, rid), part in rules.groupby([PREF_CODE, PREF, RULE_ID], sort=True):
        tr = town_rules[(town_rules[COUNTY_CODE].isin(part[COUNTY_CODE])) & (town_rules[RULE_ID] == rid)]
        required = tr[tr[OUTCOME].isin([PASS, FAIL])]
        ok = int((required[OUTCOME] == PASS).sum())
        rows.append({PREF_CODE: pcode, PREF: pname, RULE_ID: rid,
                     # A template gives every county one title; own plans may word it differently.
                     TITLE: part[TITLE].mode().iloc[0], N_EVAL_COUNTIES: int(part[OUTCOME].isin([PASS, FAIL]).sum()),
                     N_PASS_COUNTIES: int((part[OUTCOME] == PASS).sum()),
                     N_UNKNOWN_COUNTIES: int((part[OUTCOME] == UNKNOWN).sum()), N_REQ_TOWNS: len(required),
                     N_PASS_TOWNS: ok, TOWN_PASS_RATE: _pct(ok / len(required)) if len(required) else None})
    return pd.DataFrame(rows, columns=cols)


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------

def output_paths(out_dir, stem: str = "province") -> dict[str, Path]:
    """Every file a report writes: ``xlsx``, one CSV per table (``csv:`` and its sheet name), ``map``.

    The file names are the same in every language; the keys of the CSVs follow the sheet names of the
    current language, as :func:`province_tables` does.

    Examples
    --------
    >>> {k: p.name for k, p in output_paths("out").items()}
    {'xlsx': 'province.xlsx', 'map': 'province_map.html', 'csv:地市汇总': 'province_prefectures.csv', 'csv:县': 'province_counties.csv', 'csv:县级指标': 'province_county_rules.csv', 'csv:乡镇': 'province_townships.csv', 'csv:乡镇指标': 'province_township_rules.csv', 'csv:地市分指标': 'province_prefecture_rules.csv', 'csv:未完成': 'province_failed.csv'}
    """
    d = Path(out_dir)
    paths = {"xlsx": d / f"{stem}.xlsx", "map": d / f"{stem}_map.html"}
    for key in SHEETS:
        paths[f"csv:{sheet(key)}"] = d / f"{stem}_{key}.csv"
    return paths


def check_free(paths, overwrite: bool) -> None:
    """Refuse to start when an output exists and ``overwrite`` is not given (before any work is done).

    Examples
    --------
    >>> paths = list(output_paths(tmp).values())
    >>> check_free(paths, overwrite=False)  # nothing there yet
    >>> _ = paths[0].write_text("x")
    >>> check_free(paths, overwrite=False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geoplan.output.OutputExistsError: 输出文件 .../province.xlsx（共 1 个）已存在，未作任何改动。要替换请加 --overwrite，或换一个 --out 文件夹。（各县结果缓存都会保留：已完成的县不会重新计算。）
    """
    from geoplan.output import OutputExistsError, check_target

    taken = [str(p) for p in paths if Path(p).exists() or Path(p).is_symlink()]
    if taken and not overwrite:
        raise OutputExistsError(ngettext(
            "{n} output file already exists: {files}. Give --overwrite to replace it, or another --out folder. "
            "(The per-county cache is kept either way: counties already done are not computed again.)",
            "{n} output files already exist: {files}. Give --overwrite to replace them, or another --out folder. "
            "(The per-county cache is kept either way: counties already done are not computed again.)",
            len(taken)).format(n=len(taken), files=", ".join(taken[:3]) + (" …" if len(taken) > 3 else "")))
    for p in paths:  # folder missing, read-only, a folder in the way: said now, before the work
        if Path(p).parent.exists():
            check_target(p, overwrite=overwrite)


def publish(tmp: Path, target: Path, overwrite: bool) -> Path:
    """Move a finished temporary file onto its name through :func:`geoplan.output.atomic_target`.

    Atomic (fsynced, renamed), and never over a file unless ``overwrite``
    (also when the name was taken after :func:`check_free`). ``tmp`` is gone
    afterwards either way.

    Examples
    --------
    >>> part = tmp / ".report.tmp"
    >>> _ = part.write_text("表")
    >>> p = publish(part, tmp / "report.csv", overwrite=False)
    >>> p.read_text(), part.exists()
    ('表', False)
    """
    from geoplan.output import atomic_target

    try:
        with atomic_target(target, overwrite=overwrite) as t:
            os.replace(tmp, t)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return Path(target)


def _tmp(target: Path) -> Path:
    return target.with_name(f".{target.stem}.{os.getpid()}.part{target.suffix}")


def write_csvs(tables: dict[str, pd.DataFrame], paths: dict[str, Path], overwrite: bool = False) -> list[Path]:
    """One CSV per table (UTF-8 with BOM, for Excel on a Chinese Windows PC).

    Written through :func:`geoplan.output.write_csv`: atomic, never over a file
    unless ``overwrite``, formula-like text quoted (read back with
    :func:`geoplan.output.read_csv`).

    Examples
    --------
    ``prov`` is a province run of the 磐安县 sample alone, without travel times (the recipe is in
    ``geoplan/conftest.py``: :func:`~geoplan.province.inputs.county_inputs`, then :func:`run_province`).


    >>> tables = province_tables(prov.results)
    >>> files = write_csvs(tables, output_paths(tmp))
    >>> len(files) == len(tables), files[0].suffix
    (True, '.csv')
    """
    from geoplan.output import write_csv

    out = []
    for name, table in tables.items():
        target = paths[f"csv:{name}"]
        target.parent.mkdir(parents=True, exist_ok=True)
        out.append(write_csv(table, target, overwrite=overwrite))
    return out


_WIDTHS = {NOTE: 50, WHY: 60, TITLE: 34, FAILED_RULES: 40, PLAN: 30, TRAVEL_RULE: 30, RULE_ID: 20,
           TOWN: 14, COUNTY: 12, PREF: 9}


def _number_format(header: str, unit) -> str | None:
    """The Excel format of a number under ``header`` (translated) in a row of ``unit``."""
    if header.endswith("(%)") or (header in (_(VALUE), _(TARGET)) and str(unit).startswith("%")):
        return '0.0"%"'
    if header in (_(VALUE), _(TARGET)) and "万" in str(unit):
        return "0.0"
    if header == _(SECONDS):
        return "0.0"
    if header == _(YEAR):
        return "0"  # a year, not a count: 2025, never 2,025
    return "#,##0"


def write_xlsx(tables: dict[str, pd.DataFrame], path, *, title: str, notes: Sequence[str] = (),
               overwrite: bool = False) -> Path:
    """The report as one workbook: a notes sheet (说明), then one formatted sheet per table.

    Cells are written one by one with openpyxl so that text is always text
    (a name starting with ``=`` stays a name) and each number gets its format:
    counts ``#,##0``, percentages ``0.0%`` of the number shown, rates ``0.0``.

    Examples
    --------
    ``prov`` is a province run of the 磐安县 sample alone, without travel times (the recipe is in
    ``geoplan/conftest.py``: :func:`~geoplan.province.inputs.county_inputs`, then :func:`run_province`).


    >>> import openpyxl
    >>> p = write_xlsx(province_tables(prov.results), tmp / "province.xlsx", title="全省评估")
    >>> openpyxl.load_workbook(p).sheetnames[:3]
    ['说明', '地市汇总', '县']
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    info = wb.active
    info.title = _("notes")
    info["A1"] = title
    info["A1"].font = Font(bold=True, size=14)
    lines = [_("Written: {time}").format(time=f"{datetime.now():%Y-%m-%d %H:%M}"), *notes, "",
             _("Sheets: {prefectures} (by prefecture and the whole province), {counties} (one row per county), "
               "{county_rules} (every rule of every county, the target being the county's own plan's), "
               "{townships} (one row per township), {township_rules} (every rule of every township), "
               "{prefecture_rules}, {failed} (counties that failed or were not run, and why).").format(
                 **{key: sheet(key) for key in SHEETS}),
             _("Numbers: people and facilities are whole numbers; columns marked “(%)” or with the unit “%” are "
               "percentages; per-10,000 rates have one decimal.")]
    for i, line in enumerate(lines, start=3):
        c = info.cell(row=i, column=1, value=line)
        c.data_type = "s"  # a note is text, whatever it starts with
    info.column_dimensions["A"].width = 120
    head_fill = PatternFill("solid", fgColor="D9D9D9")
    fail_fill = PatternFill("solid", fgColor="F4CCCC")
    widths = {_(h): w for h, w in _WIDTHS.items()}
    bad_states = {_(FAILED), _(NOT_RUN), status_text(FAIL)}
    for name, table in tables.items():
        ws = wb.create_sheet(name)
        ws["A1"] = _("{title} ({sheet})").format(title=title, sheet=name)
        ws["A1"].font = Font(bold=True, size=13)
        headers = list(table.columns)
        for j, h in enumerate(headers, start=1):
            c = ws.cell(row=3, column=j, value=h)
            c.font, c.fill = Font(bold=True), head_fill
            c.alignment = Alignment(wrap_text=True, vertical="center")
            ws.column_dimensions[get_column_letter(j)].width = widths.get(h, max(9, min(16, 2 * len(h) + 2)))
        unit_idx = headers.index(_(UNIT)) if _(UNIT) in headers else None
        status_idx = next((headers.index(h) for h in (_(OUTCOME), _(STATUS)) if h in headers), None)
        for i, values in enumerate(table.itertuples(index=False), start=4):
            unit = values[unit_idx] if unit_idx is not None else None
            bad = status_idx is not None and values[status_idx] in bad_states
            for j, v in enumerate(values, start=1):
                if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
                    continue
                c = ws.cell(row=i, column=j)
                if isinstance(v, str):
                    c.value = v
                    c.data_type = "s"  # openpyxl reads a leading "=" as a formula: data is never one
                else:
                    c.value = v.item() if hasattr(v, "item") else v
                    c.number_format = _number_format(headers[j - 1], unit)
                c.alignment = Alignment(wrap_text=isinstance(v, str), vertical="top")
                if bad:
                    c.fill = fail_fill
        ws.freeze_panes = "A4"
        ws.auto_filter.ref = f"A3:{get_column_letter(max(1, len(headers)))}{max(3, ws.max_row)}"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        ws.print_title_rows = "3:3"
    from geoplan.output import save_workbook

    return save_workbook(wb, target, overwrite=overwrite)
