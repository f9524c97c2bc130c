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
from geoplan.i18n import _, ngettext
from geoplan.province.county import CountyResult
from geoplan.province.inputs import ProvinceError, county_table


#: Indicators the province map can colour townships by (key → Chinese name).
INDICATORS = {
    "failed": "未达标指标数",
    "within": "出行时间指标：时限内人口比例(%)",
    "beyond": "出行时间指标：时限外人口",
}


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
    """The report's tables, Chinese headers.

    Returns
    -------
    dict of str to DataFrame
        ``地市汇总`` (one row per prefecture and a 全省 row), ``县`` (per
        county), ``县级指标`` (county × rule), ``乡镇`` (per township, with the
        map's indicators), ``乡镇指标`` (township × rule), ``地市分指标``
        (prefecture × rule), ``未完成`` (failed or skipped counties).

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
            fail_rows.append({"地市": pname, "县代码": r.code, "县(市、区)": r.name or _places_name(r.code),
                              "阶段": r.stage, "原因": r.reason})
            county_rows.append({"地市代码": pcode, "地市": pname, "县代码": r.code,
                                "县(市、区)": r.name or _places_name(r.code), "状态": "失败", "说明": r.reason})
            continue
        ev = r.evaluation
        kinds = {rule.id: rule.kind for rule in ev.plan.rules}
        towns = r.townships
        base = {"地市代码": pcode, "地市": pname, "县代码": r.code, "县(市、区)": r.name}
        # The evaluation's own tables, as `geoplan coverage` writes them: one row per target of the document
        # (statistic, village-level and not-evaluable targets included), and the township rows it produced.
        for s in ev.summary.itertuples(index=False):
            rule_rows.append({**base, "规则编号": s.rule_id, "类别": s.group, "指标": s.title, "规则类型": s.kind,
                              "现状值": _shown(s.value, s.unit), "目标值": _shown(s.target, s.unit),
                              "单位": _unit_text(s.unit), "是否达标": s.status, "说明": s.reason})
        t = ev.townships
        for row in t.itertuples(index=False):
            town_rule_rows.append({**base, "乡镇代码": row.code, "乡镇(街道)": row.name, "规则编号": row.rule_id,
                                   "类别": row.group, "指标": row.title, "人口": _count(row.population),
                                   "现状值": _shown(row.value, row.unit), "目标值": _shown(row.target, row.unit),
                                   "单位": _unit_text(row.unit), "是否达标": row.status, "说明": row.reason})
        travel_ids = [rid for rid, k in kinds.items() if k == "travel_time"]
        travel = t[t["rule_id"] == travel_ids[0]].set_index("code") if travel_ids else None
        failing = t[t["passed"].eq(False)]
        for town in towns.itertuples(index=False):
            mine = failing[failing["code"] == town.code]
            row = {**base, "乡镇代码": town.code, "乡镇(街道)": town.name, "类型": town.kind,
                   "常住人口": _count(town.population), "60岁及以上人口": _count(town.pop_60plus),
                   "评估指标数": int(((t["code"] == town.code) & t["passed"].notna()).sum()),
                   "未达标指标数": len(mine),
                   "未达标指标": "、".join(mine["title"]),
                   "出行时间指标": "", "时限内人口比例(%)": None, "时限外人口": None}
            if travel is not None and town.code in travel.index:
                tr = travel.loc[town.code]
                row["出行时间指标"] = str(tr["title"])
                row["时限内人口比例(%)"] = _pct(tr["value"])
                if pd.notna(tr["value"]) and pd.notna(tr["population"]):
                    row["时限外人口"] = _count(tr["population"] * (1.0 - tr["value"]))
            town_rows.append(row)
        summ = ev.summary
        evaluated = summ[summ["passed"].notna()]
        county_rows.append({
            **base, "状态": "完成（缓存）" if r.cached else "完成", "说明": "",
            "规划": ev.plan.name, "评估年份": ev.year, "乡镇数": len(towns),
            "常住人口": _count(towns["population"].sum()), "60岁及以上人口": _count(towns["pop_60plus"].sum()),
            "指标数": len(summ), "达标指标数": int(evaluated["passed"].sum()),
            "未达标指标数": int((~evaluated["passed"].astype(bool)).sum()),
            "不要求指标数": int(summ["status"].eq(NOT_REQUIRED).sum()),
            "无法评估指标数": int(summ["status"].eq(UNKNOWN).sum()),
            "指标达标率(%)": _pct(evaluated["passed"].mean()) if len(evaluated) else None,
            "有未达标指标的乡镇数": int(failing["code"].nunique()),
            "未达标指标": "、".join(summ.loc[summ["passed"].eq(False), "title"]),
            "计算用时(秒)": round(r.seconds, 1),
        })
    for code, reason in skipped:
        pcode, pname = _places(code)
        fail_rows.append({"地市": pname, "县代码": code, "县(市、区)": _places_name(code), "阶段": "准备",
                          "原因": reason})
        county_rows.append({"地市代码": pcode, "地市": pname, "县代码": code, "县(市、区)": _places_name(code),
                            "状态": "未运行", "说明": reason})
    counties = pd.DataFrame(county_rows)
    if counties.empty:
        raise ProvinceError(_("No county to report on."))
    counties = counties.sort_values("县代码", kind="stable").reset_index(drop=True)
    towns_df = pd.DataFrame(town_rows, columns=_TOWN_COLS)
    # object: 现状值 holds counts (处) and percentages in one column; each number stays as it is (2, not 2.0).
    town_rules = pd.DataFrame(town_rule_rows, columns=_TOWN_RULE_COLS, dtype=object)
    rules = pd.DataFrame(rule_rows, columns=_RULE_COLS, dtype=object)
    return {
        "地市汇总": _prefectures(counties, towns_df),
        "县": counties.reindex(columns=_COUNTY_COLS),
        "县级指标": rules,
        "乡镇": towns_df,
        "乡镇指标": town_rules,
        "地市分指标": _prefecture_rules(rules, town_rules),
        "未完成": pd.DataFrame(fail_rows, columns=["地市", "县代码", "县(市、区)", "阶段", "原因"]),
    }


def _places_name(code: str) -> str:
    t = county_table()
    return str(t.loc[code, "county_name"]) if code in t.index else ""


_COUNTY_COLS = ["地市代码", "地市", "县代码", "县(市、区)", "状态", "说明", "规划", "评估年份", "乡镇数", "常住人口",
                "60岁及以上人口", "指标数", "达标指标数", "未达标指标数", "不要求指标数",
                "无法评估指标数", "指标达标率(%)",
                "有未达标指标的乡镇数", "未达标指标", "计算用时(秒)"]
_RULE_COLS = ["地市代码", "地市", "县代码", "县(市、区)", "规则编号", "类别", "指标", "规则类型", "现状值", "目标值", "单位",
              "是否达标", "说明"]
_TOWN_RULE_COLS = ["地市代码", "地市", "县代码", "县(市、区)", "乡镇代码", "乡镇(街道)", "规则编号", "类别", "指标",
                   "人口", "现状值", "目标值", "单位", "是否达标", "说明"]
_TOWN_COLS = ["地市代码", "地市", "县代码", "县(市、区)", "乡镇代码", "乡镇(街道)", "类型", "常住人口", "60岁及以上人口",
              "评估指标数", "未达标指标数", "未达标指标", "出行时间指标", "时限内人口比例(%)", "时限外人口"]


def _prefectures(counties: pd.DataFrame, towns: pd.DataFrame) -> pd.DataFrame:
    done = counties[counties["状态"].str.startswith("完成")]
    rows = []
    groups = list(counties.groupby(["地市代码", "地市"], sort=True)) + [(("", "全省合计"), counties)]
    for (pcode, pname), part in groups:
        d = done[done["县代码"].isin(part["县代码"])]
        tw = towns[towns["县代码"].isin(d["县代码"])]
        n_rules = d["达标指标数"].sum() + d["未达标指标数"].sum() if len(d) else 0
        rows.append({
            "地市代码": pcode, "地市": pname, "县数": len(part), "完成县数": len(d), "未完成县数": len(part) - len(d),
            "乡镇数": len(tw), "常住人口": _count(tw["常住人口"].sum()) if len(tw) else 0,
            "60岁及以上人口": _count(tw["60岁及以上人口"].sum()) if len(tw) else 0,
            "有未达标指标的乡镇数": int((tw["未达标指标数"] > 0).sum()),
            "有未达标指标的乡镇占比(%)": _pct((tw["未达标指标数"] > 0).mean()) if len(tw) else None,
            "县级指标达标率(%)": _pct(d["达标指标数"].sum() / n_rules) if n_rules else None,
            "全部县级指标达标的县数": int((d["未达标指标数"] == 0).sum()),
            "出行时间时限外人口": _count(tw["时限外人口"].sum()) if tw["时限外人口"].notna().any() else None,
        })
    return pd.DataFrame(rows)


def _prefecture_rules(rules: pd.DataFrame, town_rules: pd.DataFrame) -> pd.DataFrame:
    cols = ["地市代码", "地市", "规则编号", "指标", "评估县数", "达标县数", "无法评估县数", "要求乡镇数", "达标乡镇数", "乡镇达标率(%)"]
    if rules.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for (pcode, pname, rid), part in rules.groupby(["地市代码", "地市", "规则编号"], sort=True):
        tr = town_rules[(town_rules["县代码"].isin(part["县代码"])) & (town_rules["规则编号"] == rid)]
        required = tr[tr["是否达标"].isin([PASS, FAIL])]
        ok = int((required["是否达标"] == "达标").sum())
        rows.append({"地市代码": pcode, "地市": pname, "规则编号": rid,
                     # A template gives every county one title; own plans may word it differently.
                     "指标": part["指标"].mode().iloc[0], "评估县数": int(part["是否达标"].isin([PASS, FAIL]).sum()),
                     "达标县数": int((part["是否达标"] == "达标").sum()),
                     "无法评估县数": int((part["是否达标"] == UNKNOWN).sum()), "要求乡镇数": len(required),
                     "达标乡镇数": ok, "乡镇达标率(%)": _pct(ok / len(required)) if len(required) else None})
    return pd.DataFrame(rows, columns=cols)


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------

CSV_NAMES = {"地市汇总": "prefectures", "县": "counties", "县级指标": "county_rules", "乡镇": "townships",
             "乡镇指标": "township_rules", "地市分指标": "prefecture_rules", "未完成": "failed"}


def output_paths(out_dir, stem: str = "province") -> dict[str, Path]:
    """Every file a report writes: ``xlsx``, one CSV per table, ``map``.

    Examples
    --------
    >>> {k: p.name for k, p in output_paths("out").items()}
    {'xlsx': 'province.xlsx', 'map': 'province_map.html', 'csv:地市汇总': 'province_prefectures.csv', 'csv:县': 'province_counties.csv', 'csv:县级指标': 'province_county_rules.csv', 'csv:乡镇': 'province_townships.csv', 'csv:乡镇指标': 'province_township_rules.csv', 'csv:地市分指标': 'province_prefecture_rules.csv', 'csv:未完成': 'province_failed.csv'}
    """
    d = Path(out_dir)
    paths = {"xlsx": d / f"{stem}.xlsx", "map": d / f"{stem}_map.html"}
    for sheet, name in CSV_NAMES.items():
        paths[f"csv:{sheet}"] = d / f"{stem}_{name}.csv"
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
    for sheet, table in tables.items():
        target = paths[f"csv:{sheet}"]
        target.parent.mkdir(parents=True, exist_ok=True)
        out.append(write_csv(table, target, overwrite=overwrite))
    return out


_WIDTHS = {"说明": 50, "原因": 60, "指标": 34, "未达标指标": 40, "规划": 30, "出行时间指标": 30, "规则编号": 20,
           "乡镇(街道)": 14, "县(市、区)": 12, "地市": 9}


def _number_format(header: str, unit) -> str | None:
    if header.endswith("(%)") or (header in ("现状值", "目标值") and str(unit).startswith("%")):
        return '0.0"%"'
    if header in ("现状值", "目标值") and "万" in str(unit):
        return "0.0"
    if header.endswith("(秒)"):
        return "0.0"
    if "年份" in header:
        return "0"  # a year, not a count: 2025, never 2,025
    return "#,##0"


def write_xlsx(tables: dict[str, pd.DataFrame], path, *, title: str, notes: Sequence[str] = (),
               overwrite: bool = False) -> Path:
    """The report as one workbook: a 说明 sheet, then one formatted sheet per table.

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
    info.title = "说明"
    info["A1"] = title
    info["A1"].font = Font(bold=True, size=14)
    lines = [f"生成时间：{datetime.now():%Y-%m-%d %H:%M}", *notes, "",
             "工作表：地市汇总（按地市与全省）、县（每县一行）、县级指标（每县每项指标，目标为该县自己的规划目标）、"
             "乡镇（每个乡镇一行）、乡镇指标（每个乡镇每项指标）、地市分指标、未完成（失败或未运行的县及原因）。",
             "数值：人数与处数为整数；标“(%)”或单位为“%”的为百分比；每万人指标保留一位小数。"]
    for i, line in enumerate(lines, start=3):
        c = info.cell(row=i, column=1, value=line)
        c.data_type = "s"  # a note is text, whatever it starts with
    info.column_dimensions["A"].width = 120
    head_fill = PatternFill("solid", fgColor="D9D9D9")
    fail_fill = PatternFill("solid", fgColor="F4CCCC")
    for sheet, table in tables.items():
        ws = wb.create_sheet(sheet)
        ws["A1"] = f"{title}（{sheet}）"
        ws["A1"].font = Font(bold=True, size=13)
        headers = list(table.columns)
        for j, h in enumerate(headers, start=1):
            c = ws.cell(row=3, column=j, value=h)
            c.font, c.fill = Font(bold=True), head_fill
            c.alignment = Alignment(wrap_text=True, vertical="center")
            ws.column_dimensions[get_column_letter(j)].width = _WIDTHS.get(h, max(9, min(16, 2 * len(h) + 2)))
        unit_idx = headers.index("单位") if "单位" in headers else None
        status_idx = next((headers.index(h) for h in ("是否达标", "状态") if h in headers), None)
        for i, values in enumerate(table.itertuples(index=False), start=4):
            unit = values[unit_idx] if unit_idx is not None else None
            bad = status_idx is not None and values[status_idx] in ("未达标", "失败", "未运行")
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
