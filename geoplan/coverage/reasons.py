"""The words of an evaluation: what a rule counts, why a facility does not count, values beside targets.

The reasons go into the bureau's own reports, so they name the facilities
(e.g. 运营中的居家养老服务中心 3 处（…）).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from geoplan.coverage.plans import Plan, Rule
from geoplan.layers.schema import SCHEMAS

#: how a facility misses a ``where`` condition, in words (column, wanted value) -> phrase
_MISS_PHRASES = {
    ("standardised", True): "未达规范化标准",
    ("eco_burial", True): "不是节地生态安葬点",
    ("ownership", "公办"): "不是公办",
    ("ownership", "民办"): "不是民办",
}
#: qualifiers of what a rule counts, in words
_QUALIFIERS = {("standardised", True): "规范化", ("eco_burial", True): "提供节地生态安葬的", ("ownership", "公办"): "公办",
               ("ownership", "民办"): "民办"}


def _alt_text(alt: dict, layer: str) -> str:
    kinds = alt.get("kind")
    thing = "、".join(kinds if isinstance(kinds, list) else [kinds]) if kinds else SCHEMAS[layer].title_zh
    quals = "".join(q for (col, v), q in _QUALIFIERS.items() if alt.get(col) == v)
    return quals + thing


def _describe(rule: Rule) -> str:
    """What the rule counts, in Chinese: e.g. 运营中的居家养老服务中心."""
    thing = "或".join(dict.fromkeys(_alt_text(a, rule.get("layer")) for a in rule.where_any))
    status = rule.get("status") or "运营"
    return ("运营中的" if status == "运营" else "规划中的" if status == "规划" else "") + thing


def _names(rows: pd.DataFrame, limit: int = 6) -> str:
    names = [str(n) for n in rows["name"]]
    text = "、".join(names[:limit])
    return text + (f" 等 {len(names)} 处" if len(names) > limit else "")


def _miss_phrase(row: pd.Series, rule: Rule) -> str | None:
    """Why a facility of the right kind does not count under the rule's ``where``, or None if the kind differs."""
    best = None
    for alt in rule.where_any:
        kinds = alt.get("kind")
        if kinds is not None and row.get("kind") not in (kinds if isinstance(kinds, list) else [kinds]):
            continue
        fails = []
        for col, wanted in alt.items():
            if col == "kind":
                continue
            values = wanted if isinstance(wanted, list) else [wanted]
            if row.get(col) not in values:
                v = values[0]
                fails.append(_MISS_PHRASES.get((col, v)) or
                             f"{SCHEMAS[rule.get('layer')].field(col).label_zh}不是{'或'.join(map(str, values))}")
        if best is None or len(fails) < len(best):
            best = fails
    return "、".join(best) if best else None


def _state_notes(rows: pd.DataFrame, as_of: dt.date | None) -> list[str]:
    """Why facilities that match the rule still do not count on the evaluation date."""
    notes = []
    for _, r in rows.iterrows():
        status, opened = r.get("status"), r.get("opened")
        closed = r.get("closed") if "closed" in r else None
        if status == "规划":
            notes.append(f"{r['name']}尚在规划中" + (f"（计划 {int(opened)} 年建成）" if pd.notna(opened) else ""))
        elif as_of is not None and pd.notna(opened) and opened > as_of.year:
            notes.append(f"{r['name']} {int(opened)} 年建成，评估日 {as_of.isoformat()} 时尚未建成")
        elif as_of is not None and closed is not None and pd.notna(closed) and closed <= as_of.year:
            notes.append(f"{r['name']}已于 {int(closed)} 年撤销")
    return notes


def _stat_label(plan: Plan, name: str) -> str:
    return plan.statistic_label(name)


def _missing_stat(plan: Plan, names: list[str], year: int) -> str:
    parts = []
    for name in names:
        have = sorted(plan.statistics.get(name, {}))
        parts.append(f"{_stat_label(plan, name)}" + (f"（已有 {'、'.join(map(str, have))} 年数据）" if have else ""))
    return f"缺少 {year} 年统计：{'；'.join(parts)}；请在规划文件 [statistics] 中填入 {year} 年的数字"


def _fmt(value, unit: str) -> str:
    """A value as a person reads it: shares as %, per-10,000 with one decimal, counts and money whole."""
    if value is None or pd.isna(value):
        return "—"
    if unit == "%":
        return f"{value:.1%}"
    if "万" in unit:
        return f"{value:.1f}"
    if float(value).is_integer() or unit in ("元/年", "元", "处", "个", "人"):
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def _with_target(text: str, value, target, unit: str, comparison: str, year: int) -> str:
    if target is None:
        return f"{text}；{year} 年无目标"
    if value is None or pd.isna(value):
        return text
    op = "不低于" if comparison == ">=" else "不高于"
    shown_unit = "" if unit == "%" else f" {unit}"
    return f"{_fmt(value, unit)}{shown_unit}（{text}）；目标{op} {_fmt(target, unit)}{shown_unit}"
