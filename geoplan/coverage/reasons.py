"""The words of an evaluation: what a rule counts, why a facility does not count, values beside targets.

The reasons go into the bureau's own reports, so they name the facilities
(e.g. 运营中的居家养老服务中心 3 处（…）).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from geoplan.coverage.plans import Plan, Rule
from geoplan.i18n import N_, _
from geoplan.layers.schema import SCHEMAS

#: how a facility misses a ``where`` condition, in words (column, wanted value) -> phrase
_MISS_PHRASES = {
    ("standardised", True): N_("is not up to the provincial standard"),
    ("eco_burial", True): N_("is not an eco-burial site"),
    ("ownership", "公办"): N_("is not run by the government"),
    ("ownership", "民办"): N_("is not privately run"),
}
#: qualifiers of what a rule counts, in words (put before the facility kind)
_QUALIFIERS = {("standardised", True): N_("standardised "), ("eco_burial", True): N_("eco-burial-offering "),
               ("ownership", "公办"): N_("government-run "), ("ownership", "民办"): N_("privately run ")}


def _or(items) -> str:
    """``a``, ``a或b``, ``a或b或c`` (``a or b or c``)."""
    items = list(items)
    text = items[0] if items else ""
    for item in items[1:]:
        text = _("{first} or {second}").format(first=text, second=item)
    return text


def _alt_text(alt: dict, layer: str) -> str:
    kinds = alt.get("kind")
    thing = _(", ").join(kinds if isinstance(kinds, list) else [kinds]) if kinds else SCHEMAS[layer].title
    quals = "".join(_(q) for (col, v), q in _QUALIFIERS.items() if alt.get(col) == v)
    return quals + thing


def _describe(rule: Rule, with_status: bool = True) -> str:
    """What the rule counts, in words: e.g. 运营中的居家养老服务中心 (operating 居家养老服务中心)."""
    thing = _or(dict.fromkeys(_alt_text(a, rule.get("layer")) for a in rule.where_any))
    status = rule.get("status") or "运营"
    if not with_status:
        return thing
    if status == "运营":
        return _("operating {thing}").format(thing=thing)
    return _("planned {thing}").format(thing=thing) if status == "规划" else thing


def _names(rows: pd.DataFrame, limit: int = 6) -> str:
    names = [str(n) for n in rows["name"]]
    text = _(", ").join(names[:limit])
    return _("{names} and others, {n} in all").format(names=text, n=len(names)) if len(names) > limit else text


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
                phrase = _MISS_PHRASES.get((col, v))
                fails.append(_(phrase) if phrase else _("{label} is not {values}").format(
                    label=SCHEMAS[rule.get("layer")].field(col).label, values=_or(map(str, values))))
        if best is None or len(fails) < len(best):
            best = fails
    return _(", ").join(best) if best else None


def _state_notes(rows: pd.DataFrame, as_of: dt.date | None) -> list[str]:
    """Why facilities that match the rule still do not count on the evaluation date."""
    notes = []
    for _i, r in rows.iterrows():
        status, opened = r.get("status"), r.get("opened")
        closed = r.get("closed") if "closed" in r else None
        if status == "规划":
            notes.append(_("{name} is still planned (to open in {year})").format(name=r["name"], year=int(opened))
                         if pd.notna(opened) else _("{name} is still planned").format(name=r["name"]))
        elif as_of is not None and pd.notna(opened) and opened > as_of.year:
            notes.append(_("{name} opens in {year}, not yet open on the evaluation date {date}").format(
                name=r["name"], year=int(opened), date=as_of.isoformat()))
        elif as_of is not None and closed is not None and pd.notna(closed) and closed <= as_of.year:
            notes.append(_("{name} closed in {year}").format(name=r["name"], year=int(closed)))
    return notes


def _stat_label(plan: Plan, name: str) -> str:
    return plan.statistic_label(name)


def _missing_stat(plan: Plan, names: list[str], year: int) -> str:
    parts = []
    for name in names:
        have = sorted(plan.statistics.get(name, {}))
        parts.append(_("{label} (data for {years})").format(label=_stat_label(plan, name), years=_(", ").join(map(str, have)))
                     if have else _stat_label(plan, name))
    return _("no statistics for {year}: {missing}; enter the figures of {year} in the plan file's [statistics]").format(
        year=year, missing=_("; ").join(parts))


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
        return _("{text}; no target for {year}").format(text=text, year=year)
    if value is None or pd.isna(value):
        return text
    shown_unit = "" if unit == "%" else f" {unit}"
    message = (_("{value}{unit} ({text}); target at least {target}{unit}") if comparison == ">="
               else _("{value}{unit} ({text}); target at most {target}{unit}"))
    return message.format(value=_fmt(value, unit), unit=shown_unit, text=text, target=_fmt(target, unit))
