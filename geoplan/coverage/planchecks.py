"""The checks of a plan file's values: numbers, year tables, ``where`` filters and columns.

:func:`geoplan.coverage.plans.parse_plan` walks a plan's rules; these functions check one value
each against the layer schemas and append what is wrong (naming the rule, the key and what to write
instead) to the caller's ``errors`` list, so that every problem of a file is reported at once.

Examples
--------
>>> errors = []
>>> year_table({"2025": "58%", "2020": 0.53}, "规则 r1 target", errors, share=True)
{2020: 0.53}
>>> errors
["规则 r1 target 2025 年：'58%' 不是数字，请写成不带引号的数字 58"]
"""

from __future__ import annotations

import difflib
import re

from geoplan.i18n import _
from geoplan.layers.schema import SCHEMAS

__all__ = ["suggest", "number_fix", "year_table", "check_where", "check_numeric_column", "check_positive"]


def suggest(value, choices) -> str:
    close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1, cutoff=0.3)
    return _(", did you mean \"{close}\"? ").format(close=close[0]) if close else _(". ")


def number_fix(value) -> str:
    """How to write a quoted or annotated number as a number, e.g. "15分钟" → 15."""
    if isinstance(value, str):
        m = re.search(r"-?\d+(\.\d+)?", value)
        if m:
            return _("write it as a number without quotes: {number}").format(number=m.group(0))
    return _("write it as a number")


def year_table(value, where: str, errors: list[str], *, share: bool = False, span=None) -> dict[int, float]:
    if value is None:
        return {}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        items = {"": value}
    elif isinstance(value, dict):
        items = value
    else:
        errors.append(_("{where}: should be a number or a table by year, e.g. {example}, not {value!r}; {fix}").format(
            where=where, example='{ "2020" = 0.53, "2025" = 0.58 }', value=value, fix=number_fix(value)))
        return {}
    out = {}
    for k, v in items.items():
        year = 0
        if k != "":
            try:
                year = int(k)
            except (TypeError, ValueError):
                errors.append(_("{where}: '{key}' is not a year; write \"2025\" = …").format(where=where, key=k))
                continue
            if span is not None and not span[0] <= year <= span[1]:
                errors.append(_("{where}: the year {year} is outside the plan's span {start}–{end}").format(
                    where=where, year=year, start=span[0], end=span[1]))
                continue
        label = _("{where} {year}").format(where=where, year=year) if year else where
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            errors.append(_("{where}: {value!r} is not a number; {fix}").format(where=label, value=v, fix=number_fix(v)))
            continue
        if v < 0:
            errors.append(_("{where}: {value:g} is negative; targets and statistics cannot be").format(where=label, value=v))
            continue
        if share and v > 1:
            errors.append(_("{where}: write a share as a fraction from 0 to 1: {value:g} % is {fraction:g}").format(
                where=label, value=v, fraction=v / 100))
            continue
        out[year] = float(v)
    return out


def check_where(rid_where: str, layer: str, where, errors: list[str]) -> list[dict] | None:
    """Check a ``where`` filter against the layer's schema; return it with enum aliases made canonical."""
    schema = SCHEMAS[layer]
    alternatives = where if isinstance(where, list) else [where]
    if not alternatives or not all(isinstance(a, dict) for a in alternatives):
        errors.append(_("{where} where: should be a table like {example}, or a list of such tables (any of them)").format(
            where=rid_where, example='{ kind = "…" }'))
        return None
    columns = {f.name: f for f in schema.fields}
    out = []
    for alt in alternatives:
        clean = {}
        for col, wanted in alt.items():
            if col not in columns:
                errors.append(_("{where} where: the layer {layer} ({title}) has no column '{column}'{suggest}"
                                "Columns: {columns}").format(where=rid_where, layer=layer, title=schema.title,
                                                             column=col, suggest=suggest(col, columns),
                                                             columns=", ".join(columns)))
                continue
            f = columns[col]
            values = wanted if isinstance(wanted, list) else [wanted]
            good = []
            for v in values:
                if f.dtype == "bool":
                    if isinstance(v, bool):
                        good.append(v)
                    elif str(v).strip().lower() in ("true", "false", "是", "否"):
                        fix = "true" if str(v).strip().lower() in ("true", "是") else "false"
                        errors.append(_("{where} where.{column}: {value!r} is text; write {column} = {fix} without "
                                        "quotes").format(where=rid_where, column=col, value=v, fix=fix))
                    else:
                        errors.append(_("{where} where.{column}: should be true or false, not {value!r}").format(
                            where=rid_where, column=col, value=v))
                elif f.dtype == "enum":
                    canon = f.canonical(str(v)) if isinstance(v, str) else None
                    if canon is None:
                        errors.append(_("{where} where.{column}: {value!r} is not a value of {label}{suggest}"
                                        "Values: {values}").format(where=rid_where, column=col, value=v,
                                                                   label=f.label, suggest=suggest(v, f.choices),
                                                                   values=_(", ").join(f.choices)))
                    else:
                        good.append(canon)
                elif f.dtype == "str":
                    if not isinstance(v, str):
                        errors.append(_("{where} where.{column}: {label} is a text code; write it in quotes: "
                                        "{column} = \"{value}\"").format(where=rid_where, column=col,
                                                                         label=f.label, value=v))
                    elif f.pattern and not re.fullmatch(f.pattern, v):
                        errors.append(_("{where} where.{column}: {value!r} is not in the form ({hint})").format(
                            where=rid_where, column=col, value=v, hint=_(f.pattern_hint)))
                    else:
                        good.append(v)
                elif f.dtype in ("int", "float", "year"):
                    if isinstance(v, bool) or not isinstance(v, (int, float)):
                        errors.append(_("{where}: {value!r} is not a number; {fix}").format(
                            where=f"{rid_where} where.{col}", value=v, fix=number_fix(v)))
                    else:
                        good.append(v)
                else:
                    good.append(v)
            clean[col] = good if isinstance(wanted, list) else (good[0] if good else None)
        out.append(clean)
    return out


def check_numeric_column(rid_where, layer, key, col, errors):
    columns = {f.name: f for f in SCHEMAS[layer].fields}
    if not isinstance(col, str) or col not in columns:
        numeric = [f.name for f in SCHEMAS[layer].fields if f.dtype in ("int", "float")]
        errors.append(_("{where} {key}: the layer {layer} has no column {column!r}{suggest}Numeric columns: "
                        "{columns}").format(where=rid_where, key=key, layer=layer, column=col,
                                            suggest=suggest(col, numeric), columns=", ".join(numeric)))
    elif columns[col].dtype not in ("int", "float"):
        numeric = [f.name for f in SCHEMAS[layer].fields if f.dtype in ("int", "float")]
        errors.append(_("{where} {key}: the column '{column}' ({label}) is not numeric and cannot be summed; "
                        "numeric columns: {columns}").format(where=rid_where, key=key, column=col,
                                                             label=columns[col].label, columns=", ".join(numeric)))


def check_positive(raw, key, rid_where, errors, *, integer=False, minimum=None, maximum=None, example=""):
    if key not in raw:
        return
    v = raw[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (integer and not isinstance(v, int)):
        message = (_("{where} {key}: {value!r} is not a whole number; {fix}{example}") if integer
                   else _("{where} {key}: {value!r} is not a number; {fix}{example}"))
        errors.append(message.format(where=rid_where, key=key, value=v, fix=number_fix(v), example=example))
        return
    if minimum is not None and v < minimum:
        errors.append(_("{where} {key}: {value:g} is too small, at least {minimum:g}{example}").format(
            where=rid_where, key=key, value=v, minimum=minimum, example=example))
    elif v <= 0 and minimum is None:
        errors.append(_("{where} {key}: {value:g} should be positive{example}").format(
            where=rid_where, key=key, value=v, example=example))
    elif maximum is not None and v > maximum:
        errors.append(_("{where} {key}: {value:g} is out of range, at most {maximum:g}").format(
            where=rid_where, key=key, value=v, maximum=maximum))
