"""County plan targets as data: loading and checking plan files.

A plan file (TOML) encodes one policy document: every quantitative target
county data can check is a ``[[rule]]`` citing the section and wording it
comes from (``section``, ``quote``); every target data cannot check is a
``[[not_evaluated]]`` entry saying what it would need. Rule kinds:

``full_coverage``
    every township has at least ``min_count`` operating facilities of a layer
    (filtered by ``where``), counted by location inside the township, by the
    layer's ``township_code`` column, or either.
``population_threshold``
    every township whose population reaches ``threshold`` has one.
``village_coverage``
    every village and community (村/社区) has one (matched by the facility's
    ``village_code``).
``ratio``
    ``sum(numerator) / sum(denominator)`` over a filtered layer (e.g. nursing
    beds / beds of 养老机构), or a ratio of two statistics.
``per_population``
    a statistic (or a count of facilities) per ``per`` people (e.g. social
    organisations per 10,000 residents; care workers per 10,000 elderly with
    ``population = "pop_60plus"``).
``statistic``
    a figure the bureau reports (低保 standard, 节地生态安葬率 …) against its target.
``layer_count``
    the number of features of a layer (e.g. administrative villages and communities).
``travel_time``
    share of the population (or of people aged 60+) within ``minutes`` by
    road of a facility kind.

``where`` is a table of column = value(s), or a list of such tables meaning
"any of them" (e.g. eco-burial sites, columbaria, or eco-burial cemeteries).
Targets are a number or a table by year (``{ "2022" = 0.55, "2025" = 0.58 }``);
a plan is evaluated as of a date, using the target of the latest year not
after it. ``baseline`` tables (the 2020 column of a 十四五 plan) are reported
beside the target. Statistics are taken for the evaluated year only.
The schema is documented in ``plans/README.md``.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from geoplan.errors import GeoplanError
from geoplan.layers.schema import SCHEMAS, STATUS, STATUS_ALIASES


class PlanError(GeoplanError):
    """A plan file cannot be read or breaks the plan schema."""


#: rule kinds and their names in reports
RULE_KINDS = {
    "full_coverage": "乡镇(街道)全覆盖",
    "population_threshold": "人口达标乡镇(街道)覆盖",
    "village_coverage": "村(社区)全覆盖",
    "ratio": "比例",
    "per_population": "每万人指标",
    "statistic": "统计指标",
    "layer_count": "数量",
    "travel_time": "通行时间覆盖",
}
_COMMON = {"id", "kind", "title", "group", "target", "baseline", "comparison", "note", "section", "quote",
           "unit"}
_FACILITY = {"layer", "where", "status"}
_ALLOWED = {
    "full_coverage": _COMMON | _FACILITY | {"assign", "min_count", "from_year"},
    "population_threshold": _COMMON | _FACILITY | {"assign", "min_count", "threshold", "population", "from_year"},
    "village_coverage": _COMMON | _FACILITY | {"from_year"},
    "ratio": _COMMON | _FACILITY | {"numerator", "denominator"},
    "per_population": _COMMON | _FACILITY | {"statistic", "population", "per"},
    "statistic": _COMMON | {"statistic"},
    "layer_count": _COMMON | _FACILITY,
    "travel_time": _COMMON | _FACILITY | {"minutes", "population"},
}
_REQUIRED = {
    "full_coverage": {"layer"},
    "population_threshold": {"layer", "threshold"},
    "village_coverage": {"layer"},
    "ratio": {"target", "numerator", "denominator"},
    "per_population": {"target"},
    "statistic": {"statistic", "target", "unit"},
    "layer_count": {"layer", "target"},
    "travel_time": {"layer", "minutes", "target"},
}
COVERAGE_KINDS = ("full_coverage", "population_threshold", "village_coverage")
#: kinds whose value is a share (0–1): a target above 1 is a percentage written as a number
SHARE_KINDS = ("ratio", "travel_time")
DEFAULT_UNITS = {"full_coverage": "处", "population_threshold": "处", "village_coverage": "%", "ratio": "%",
                 "per_population": "/万人", "layer_count": "个", "travel_time": "%"}
POPULATION_COLUMNS = ("population", "pop_60plus")
NOT_EVALUATED_KEYS = {"id", "title", "group", "target", "section", "quote", "needs", "year"}


@dataclass(frozen=True)
class Rule:
    """One target of a plan (see the module docstring for the kinds)."""

    id: str
    kind: str
    title: str
    group: str
    spec: dict
    targets: dict[int, float] = field(default_factory=dict)
    baseline: dict[int, float] = field(default_factory=dict)
    comparison: str = ">="

    def target_for(self, year: int) -> float | None:
        """Target in force in ``year``: that of the latest year not after it (None if none)."""
        if not self.targets:
            return None
        years = [y for y in self.targets if y <= year]
        return self.targets[max(years)] if years else None

    def get(self, key: str, default=None):
        return self.spec.get(key, default)

    def required_in(self, year: int) -> bool:
        """Whether a coverage rule applies in ``year`` (``from_year`` not after it)."""
        return int(self.spec.get("from_year") or 0) <= year

    @property
    def kind_zh(self) -> str:
        return RULE_KINDS[self.kind]

    @property
    def unit(self) -> str:
        return str(self.spec.get("unit") or DEFAULT_UNITS.get(self.kind, ""))

    @property
    def where_any(self) -> list[dict]:
        """The ``where`` filter as a list of alternatives (one table: one alternative)."""
        w = self.spec.get("where")
        if not w:
            return [{}]
        return list(w) if isinstance(w, list) else [w]


@dataclass(frozen=True)
class NotEvaluated:
    """A target of the document that county data cannot check, and what it would need."""

    id: str
    title: str
    group: str
    target: str
    section: str
    quote: str
    needs: str


@dataclass(frozen=True)
class Plan:
    """A county plan: metadata, rules, targets data cannot check, and statistics."""

    county: str
    name: str
    rules: tuple[Rule, ...]
    statistics: dict[str, dict[int, float]]
    source: str = ""
    path: str = ""
    year: int | None = None
    start: int | None = None
    not_evaluated: tuple[NotEvaluated, ...] = ()
    statistic_names: dict[str, str] = field(default_factory=dict)

    def default_year(self) -> int:
        """Year to evaluate when none is asked for: ``[plan] year``, else the latest target year."""
        if self.year is not None:
            return self.year
        years = [y for r in self.rules for y in r.targets if y]
        if not years:
            raise PlanError(f"{self.path}：[plan] 表没有写目标年份，请加上 year = 2022 这样的一行，或指定评估年份。")
        return max(years)

    @property
    def span(self) -> tuple[int, int]:
        """First and last year the plan speaks of (baseline to target year)."""
        end = self.default_year()
        years = [y for r in self.rules for y in (*r.targets, *r.baseline) if y] + [end]
        start = self.start if self.start is not None else min(years)
        return start, max(max(years), end)

    def check_year(self, year) -> int:
        """``year`` as an int if it lies within the plan's span, else a :class:`PlanError` saying the span."""
        start, end = self.span
        if isinstance(year, bool) or not isinstance(year, int) or not start <= year <= end:
            raise PlanError(f"{self.path}：评估年份 {year} 不在规划期 {start}—{end} 年内；"
                            f"请给出 {start} 到 {end} 之间的年份（默认 {self.default_year()}）。")
        return year

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise PlanError(f"规划 {self.name!r} 没有规则 {rule_id!r}；已有规则：" + "、".join(r.id for r in self.rules))

    def statistic(self, name: str, year: int) -> float | None:
        """The statistic for exactly ``year`` (None if the plan gives no figure for that year)."""
        return self.statistics.get(name, {}).get(year)

    def statistic_label(self, name: str) -> str:
        return self.statistic_names.get(name, name)


# ----------------------------------------------------------------------------------------- checking


def _suggest(value, choices) -> str:
    close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1, cutoff=0.3)
    return f"，是不是 \"{close[0]}\"？" if close else "。"


def _number_fix(value) -> str:
    """How to write a quoted or annotated number as a number, e.g. "15分钟" → 15."""
    if isinstance(value, str):
        m = re.search(r"-?\d+(\.\d+)?", value)
        if m:
            return f"请写成不带引号的数字 {m.group(0)}"
    return "请写成数字"


def _year_table(value, where: str, errors: list[str], *, share: bool = False, span=None) -> dict[int, float]:
    if value is None:
        return {}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        items = {"": value}
    elif isinstance(value, dict):
        items = value
    else:
        errors.append(f"{where}：应为数字或按年份的表，例如 {{ \"2020\" = 0.53, \"2025\" = 0.58 }}，"
                      f"而不是 {value!r}；{_number_fix(value)}")
        return {}
    out = {}
    for k, v in items.items():
        year = 0
        if k != "":
            try:
                year = int(k)
            except (TypeError, ValueError):
                errors.append(f"{where}：'{k}' 不是年份，请写成 \"2025\" = …")
                continue
            if span is not None and not span[0] <= year <= span[1]:
                errors.append(f"{where}：年份 {year} 不在规划期 {span[0]}—{span[1]} 年内")
                continue
        label = f"{where}" + (f" {year} 年" if year else "")
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            errors.append(f"{label}：{v!r} 不是数字，{_number_fix(v)}")
            continue
        if v < 0:
            errors.append(f"{label}：{v:g} 是负数，目标和统计数不能为负")
            continue
        if share and v > 1:
            errors.append(f"{label}：比例写成 0 到 1 之间的小数：{v:g} % 应写成 {v / 100:g}")
            continue
        out[year] = float(v)
    return out


def _check_where(rid_where: str, layer: str, where, errors: list[str]) -> list[dict] | None:
    """Check a ``where`` filter against the layer's schema; return it with enum aliases made canonical."""
    schema = SCHEMAS[layer]
    alternatives = where if isinstance(where, list) else [where]
    if not alternatives or not all(isinstance(a, dict) for a in alternatives):
        errors.append(f"{rid_where} where：应为 {{ kind = \"…\" }} 这样的表，或这种表的列表（满足其一即可）")
        return None
    columns = {f.name: f for f in schema.fields}
    out = []
    for alt in alternatives:
        clean = {}
        for col, wanted in alt.items():
            if col not in columns:
                errors.append(f"{rid_where} where：图层 {layer}（{schema.title_zh}）没有列 '{col}'"
                              f"{_suggest(col, columns)}可用的列：{', '.join(columns)}")
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
                        errors.append(f"{rid_where} where.{col}：{v!r} 是文字；请写成不带引号的 {col} = {fix}")
                    else:
                        errors.append(f"{rid_where} where.{col}：应为 true 或 false，而不是 {v!r}")
                elif f.dtype == "enum":
                    canon = f.canonical(str(v)) if isinstance(v, str) else None
                    if canon is None:
                        errors.append(f"{rid_where} where.{col}：{v!r} 不是{f.label_zh}的取值"
                                      f"{_suggest(v, f.choices)}可用的值：{'、'.join(f.choices)}")
                    else:
                        good.append(canon)
                elif f.dtype == "str":
                    if not isinstance(v, str):
                        errors.append(f"{rid_where} where.{col}：{f.label_zh}是文字代码，"
                                      f"请加引号写成 {col} = \"{v}\"")
                    elif f.pattern and not re.fullmatch(f.pattern, v):
                        errors.append(f"{rid_where} where.{col}：{v!r} 不符合格式（{f.pattern_hint}）")
                    else:
                        good.append(v)
                elif f.dtype in ("int", "float", "year"):
                    if isinstance(v, bool) or not isinstance(v, (int, float)):
                        errors.append(f"{rid_where} where.{col}：{v!r} 不是数字，{_number_fix(v)}")
                    else:
                        good.append(v)
                else:
                    good.append(v)
            clean[col] = good if isinstance(wanted, list) else (good[0] if good else None)
        out.append(clean)
    return out


def _numeric_column(rid_where, layer, key, col, errors):
    columns = {f.name: f for f in SCHEMAS[layer].fields}
    if not isinstance(col, str) or col not in columns:
        numeric = [f.name for f in SCHEMAS[layer].fields if f.dtype in ("int", "float")]
        errors.append(f"{rid_where} {key}：图层 {layer} 没有列 {col!r}{_suggest(col, numeric)}"
                      f"可用的数值列：{', '.join(numeric)}")
    elif columns[col].dtype not in ("int", "float"):
        numeric = [f.name for f in SCHEMAS[layer].fields if f.dtype in ("int", "float")]
        errors.append(f"{rid_where} {key}：列 '{col}'（{columns[col].label_zh}）不是数值列，不能求和；"
                      f"可用的数值列：{', '.join(numeric)}")


def _positive(raw, key, rid_where, errors, *, integer=False, minimum=None, maximum=None, example=""):
    if key not in raw:
        return
    v = raw[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (integer and not isinstance(v, int)):
        what = "整数" if integer else "数字"
        errors.append(f"{rid_where} {key}：{v!r} 不是{what}，{_number_fix(v)}{example}")
        return
    if minimum is not None and v < minimum:
        errors.append(f"{rid_where} {key}：{v:g} 太小，应不小于 {minimum:g}{example}")
    elif v <= 0 and minimum is None:
        errors.append(f"{rid_where} {key}：{v:g} 应为正数{example}")
    elif maximum is not None and v > maximum:
        errors.append(f"{rid_where} {key}：{v:g} 超出范围，应不大于 {maximum:g}")


def parse_plan(data: dict, source: str = "<plan>") -> Plan:
    """Check a parsed plan document and build a :class:`Plan`.

    Every problem is collected and reported at once, each naming the rule,
    the key and what to write instead.

    Raises
    ------
    PlanError
        Unknown rule kind or key, missing keys, unknown layer or column,
        ``where`` values that are not in the layer's schema, numbers of the
        wrong type, sign or range, years outside the plan's span, duplicate IDs.

    Examples
    --------
    >>> plan = parse_plan({"plan": {"county": "330624", "name": "示例", "year": 2022},
    ...                    "rule": [{"id": "hc", "kind": "full_coverage", "layer": "elderly_care",
    ...                              "where": {"kind": "居家养老服务中心"}}]})
    >>> plan.rules[0].kind_zh
    '乡镇(街道)全覆盖'
    """
    errors: list[str] = []
    meta = data.get("plan")
    if not isinstance(meta, dict):
        raise PlanError(f"{source}：文件需要 [plan] 表，至少写 county = \"330624\" 和 name = \"…\"。")
    county = meta.get("county", "")
    if isinstance(county, int) and not isinstance(county, bool):
        errors.append(f"[plan] county：县代码是文字，请加引号写成 county = \"{county}\"")
        county = str(county)
    county = str(county)
    if not (county.isdigit() and len(county) == 6):
        errors.append(f"[plan] county：应为 6 位县代码，例如 \"330624\"，而不是 {meta.get('county')!r}")
    year = meta.get("year")
    if year is not None and (isinstance(year, bool) or not isinstance(year, int) or not 1949 <= year <= 2100):
        errors.append(f"[plan] year：应为年份，例如 year = 2022，而不是 {year!r}")
        year = None
    start = meta.get("start_year")
    if start is not None and (isinstance(start, bool) or not isinstance(start, int)
                              or not 1949 <= start <= (year or 2100)):
        errors.append(f"[plan] start_year：应为不晚于 year 的年份，例如 start_year = 2020，而不是 {start!r}")
        start = None
    span = (start if start is not None else 1949, year if year is not None else 2100)

    raw_stats = data.get("statistics") or {}
    statistics, stat_names = {}, {}
    if not isinstance(raw_stats, dict):
        errors.append("[statistics]：应为表，每行 名称 = { \"2022\" = 数值 }")
        raw_stats = {}
    for name, table in raw_stats.items():
        if name == "source":
            continue
        if isinstance(table, dict) and "label" in table:
            table = dict(table)
            stat_names[name] = str(table.pop("label"))
        parsed = _year_table(table, f"[statistics] {name}", errors, span=span)
        if 0 in parsed:
            errors.append(f"[statistics] {name}：统计数要写明年份，例如 {name} = {{ \"2022\" = {parsed[0]:g} }}")
        statistics[name] = {y: v for y, v in parsed.items() if y != 0}

    rules = []
    seen = set()
    raw_rules = data.get("rule", [])
    if isinstance(raw_rules, dict):
        errors.append("规则要写成 [[rule]]（两层方括号），每条规则一个；[rule] 只能出现一次")
        raw_rules = [raw_rules]
    if not isinstance(raw_rules, list) or not raw_rules:
        errors.append("规划中没有 [[rule]] 规则")
        raw_rules = []
    for n, raw in enumerate(raw_rules, start=1):
        if not isinstance(raw, dict):
            errors.append(f"第 {n} 条规则不是表")
            continue
        rid = str(raw.get("id", f"#{n}"))
        where = f"规则 {rid}（第 {n} 条）"
        kind = raw.get("kind")
        if kind not in RULE_KINDS:
            errors.append(f"{where} kind：{kind!r} 不是规则类型{_suggest(kind, RULE_KINDS)}"
                          f"可用的类型：{', '.join(RULE_KINDS)}")
            continue
        if "id" not in raw:
            errors.append(f"{where}：每条规则都要有 id")
        if rid in seen:
            errors.append(f"{where}：id {rid!r} 重复使用")
        seen.add(rid)
        for key in sorted(set(raw) - _ALLOWED[kind]):
            errors.append(f"{where}：{kind} 规则没有 '{key}' 这一项{_suggest(key, _ALLOWED[kind])}"
                          f"可用的项：{', '.join(sorted(_ALLOWED[kind]))}")
        for key in sorted(_REQUIRED[kind] - set(raw)):
            errors.append(f"{where}：{kind} 规则需要 '{key}'")
        spec = dict(raw)
        layer = raw.get("layer")
        if layer is not None:
            if layer not in SCHEMAS:
                errors.append(f"{where} layer：没有图层 '{layer}'{_suggest(layer, SCHEMAS)}"
                              f"可用的图层：{', '.join(SCHEMAS)}")
            else:
                if raw.get("where") is not None:
                    spec["where"] = _check_where(where, layer, raw["where"], errors)
                if kind == "ratio":
                    for key in ("numerator", "denominator"):
                        if key in raw:
                            _numeric_column(where, layer, key, raw[key], errors)
                if kind == "village_coverage" and "village_code" not in {f.name for f in SCHEMAS[layer].fields}:
                    errors.append(f"{where}：图层 {layer} 没有 village_code 列，不能按村(社区)统计")
        elif raw.get("where") is not None:
            errors.append(f"{where} where：没有 layer，where 无从筛选")
        if "status" in raw:
            st = raw["status"]
            canon = "any" if st == "any" else (st if st in STATUS else STATUS_ALIASES.get(str(st).lower()))
            if canon is None:
                errors.append(f"{where} status：{st!r} 不是状态{_suggest(st, STATUS)}可用的值：运营、规划、any")
            spec["status"] = canon
        for key in ("numerator", "denominator", "statistic"):
            if key in raw and not isinstance(raw[key], str):
                errors.append(f"{where} {key}：应为列名或统计名（文字），而不是 {raw[key]!r}")
            elif key in raw and "layer" not in raw and raw[key] not in statistics:
                errors.append(f"{where} {key}：[statistics] 中没有 '{raw[key]}'；"
                              f"请在 [statistics] 中加上 {raw[key]} = {{ \"年份\" = 数值 }}"
                              + (f"{_suggest(raw[key], statistics)}" if statistics else ""))
        if kind == "per_population" and "statistic" not in raw and "layer" not in raw:
            errors.append(f"{where}：请写明统计对象：statistic = \"名称\" 或 layer = \"…\"")
        if "population" in raw and raw["population"] not in POPULATION_COLUMNS:
            errors.append(f"{where} population：{raw['population']!r} 不是人口列"
                          f"{_suggest(raw['population'], POPULATION_COLUMNS)}可用的值：{', '.join(POPULATION_COLUMNS)}")
        _positive(raw, "min_count", where, errors, integer=True, minimum=1, example="，例如 min_count = 2")
        _positive(raw, "minutes", where, errors, maximum=240, example="，例如 minutes = 15")
        _positive(raw, "per", where, errors, example="，例如 per = 10000")
        _positive(raw, "threshold", where, errors, minimum=0, example="，例如 threshold = 10000")
        if raw.get("assign", "either") not in ("location", "column", "either"):
            errors.append(f"{where} assign：应为 location、column 或 either，而不是 {raw.get('assign')!r}")
        if raw.get("comparison", ">=") not in (">=", "<="):
            errors.append(f"{where} comparison：应为 '>=' 或 '<='")
        share = kind in SHARE_KINDS or (kind == "statistic" and raw.get("unit") == "%")
        targets = _year_table(raw.get("target"), f"{where} target", errors, share=share, span=span)
        baseline = _year_table(raw.get("baseline"), f"{where} baseline", errors, share=share, span=span)
        if kind in COVERAGE_KINDS and "target" in raw:
            errors.append(f"{where} target：覆盖类规则不写 target；每处需要几个写 min_count = 1，"
                          "某年起才要求写 from_year = 2021")
        if "from_year" in raw:
            fy = raw["from_year"]
            if isinstance(fy, bool) or not isinstance(fy, int) or not span[0] <= fy <= span[1]:
                errors.append(f"{where} from_year：应为规划期 {span[0]}—{span[1]} 内的年份，例如 from_year = 2021，"
                              f"而不是 {fy!r}")
        for key in ("title", "section", "quote", "group", "note", "unit"):
            if key in raw and not isinstance(raw[key], str):
                errors.append(f"{where} {key}：应为文字（加引号）")
        rules.append(Rule(
            id=rid, kind=kind, title=str(raw.get("title", rid)), group=str(raw.get("group", RULE_KINDS[kind])),
            spec=spec, targets=targets, baseline=baseline, comparison=raw.get("comparison", ">="),
        ))

    not_evaluated = []
    raw_ne = data.get("not_evaluated", [])
    if isinstance(raw_ne, dict):
        errors.append("不可评估的目标要写成 [[not_evaluated]]（两层方括号）")
        raw_ne = [raw_ne]
    for n, raw in enumerate(raw_ne or [], start=1):
        where = f"不可评估目标 {raw.get('id', f'#{n}')}（第 {n} 条）"
        for key in sorted(set(raw) - NOT_EVALUATED_KEYS):
            errors.append(f"{where}：没有 '{key}' 这一项；可用的项：{', '.join(sorted(NOT_EVALUATED_KEYS))}")
        for key in ("id", "title", "needs"):
            if key not in raw:
                errors.append(f"{where}：需要 '{key}'")
        not_evaluated.append(NotEvaluated(
            id=str(raw.get("id", f"#{n}")), title=str(raw.get("title", "")), group=str(raw.get("group", "")),
            target=str(raw.get("target", "")), section=str(raw.get("section", "")),
            quote=str(raw.get("quote", "")), needs=str(raw.get("needs", ""))))

    if errors:
        raise PlanError(f"规划文件 {source} 有 {len(errors)} 处问题：\n" + "\n".join(f"  - {e}" for e in errors))
    return Plan(county=county, name=str(meta.get("name", county)), rules=tuple(rules), statistics=statistics,
                source=str(meta.get("source", "")), path=source, year=year, start=start,
                not_evaluated=tuple(not_evaluated), statistic_names=stat_names)


def _read_text(p: Path) -> str:
    """Plan text in UTF-8 (with or without the BOM Windows Notepad writes) or GBK/GB18030."""
    raw = p.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise PlanError(f"{p} 不是 UTF-8 或 GBK 编码的文本；请用记事本“另存为”UTF-8。")


def load_plan(path) -> Plan:
    """Read a TOML plan file (UTF-8, UTF-8 with BOM, or GBK).

    Raises
    ------
    PlanError
        Missing file or a folder, TOML syntax error (with line and column),
        or schema problems (see :func:`parse_plan`).
    """
    p = Path(path)
    if p.is_dir():
        found = sorted(x.name for x in p.glob("*.toml"))
        raise PlanError(f"{p} 是文件夹，不是规划文件；请给出其中的 .toml 文件"
                        + (f"，例如 {p / found[0]}（共有：{'、'.join(found)}）" if found else "") + "。")
    if not p.exists():
        raise PlanError(f"找不到规划文件 {p}。示例规划在 plans/ 中（例如 plans/330624_2022.toml）。")
    text = _read_text(p)
    single = [i for i, line in enumerate(text.splitlines(), start=1) if re.fullmatch(r"\s*\[\s*rule\s*\]\s*", line)]
    if len(single) > 1:
        raise PlanError(f"{p} 第 {single[1]} 行：规则要写成 [[rule]]（两层方括号），每条规则一个；"
                        f"[rule] 出现了 {len(single)} 次（第 {'、'.join(map(str, single))} 行）。")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(f"{p} 不是有效的 TOML：{exc}。请检查该行的引号和括号。") from exc
    return parse_plan(data, str(p))
