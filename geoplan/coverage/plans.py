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

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

# the value checks live in planchecks.py (plans.py stays the reader of the file and its rules)
from geoplan.coverage.planchecks import (check_numeric_column, check_positive, check_where, number_fix,  # noqa: F401
                                         suggest, year_table)
from geoplan.errors import GeoplanError
from geoplan.i18n import N_, _, ngettext
from geoplan.layers.schema import SCHEMAS, STATUS, STATUS_ALIASES


class PlanError(GeoplanError):
    """A plan file cannot be read or breaks the plan schema."""


#: rule kinds and their names in reports
RULE_KINDS = {
    "full_coverage": N_("every township covered"),
    "population_threshold": N_("townships above a population covered"),
    "village_coverage": N_("every village and community covered"),
    "ratio": N_("ratio"),
    "per_population": N_("per 10,000 people"),
    "statistic": N_("statistic"),
    "layer_count": N_("count"),
    "travel_time": N_("travel-time coverage"),
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
        """The rule kind's name in the reader's language (Chinese by default)."""
        return _(RULE_KINDS[self.kind])

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
            raise PlanError(_("{path}: the [plan] table gives no target year; add a line like year = 2022, "
                              "or name the year to evaluate.").format(path=self.path))
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
            raise PlanError(_("{path}: the year {year} is outside the plan's span {start}–{end}; give a year "
                              "from {start} to {end} (default {default}).").format(
                path=self.path, year=year, start=start, end=end, default=self.default_year()))
        return year

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise PlanError(_("The plan {plan!r} has no rule {rule!r}; its rules: {rules}").format(
            plan=self.name, rule=rule_id, rules=_(", ").join(r.id for r in self.rules)))

    def statistic(self, name: str, year: int) -> float | None:
        """The statistic for exactly ``year`` (None if the plan gives no figure for that year)."""
        return self.statistics.get(name, {}).get(year)

    def statistic_label(self, name: str) -> str:
        return self.statistic_names.get(name, name)


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
        raise PlanError(_("{source}: the file needs a [plan] table with at least county = \"330624\" and "
                          "name = \"…\".").format(source=source))
    county = meta.get("county", "")
    if isinstance(county, int) and not isinstance(county, bool):
        errors.append(_("[plan] county: a county code is text; write it in quotes: county = \"{county}\"").format(
            county=county))
        county = str(county)
    county = str(county)
    if not (county.isdigit() and len(county) == 6):
        errors.append(_("[plan] county: should be a 6-digit county code such as \"330624\", not {value!r}").format(
            value=meta.get("county")))
    year = meta.get("year")
    if year is not None and (isinstance(year, bool) or not isinstance(year, int) or not 1949 <= year <= 2100):
        errors.append(_("[plan] year: should be a year such as year = 2022, not {value!r}").format(value=year))
        year = None
    start = meta.get("start_year")
    if start is not None and (isinstance(start, bool) or not isinstance(start, int)
                              or not 1949 <= start <= (year or 2100)):
        errors.append(_("[plan] start_year: should be a year not after year, such as start_year = 2020, not {value!r}")
                      .format(value=start))
        start = None
    span = (start if start is not None else 1949, year if year is not None else 2100)

    raw_stats = data.get("statistics") or {}
    statistics, stat_names = {}, {}
    if not isinstance(raw_stats, dict):
        errors.append(_("[statistics]: should be a table, one line per statistic: name = { \"2022\" = value }"))
        raw_stats = {}
    for name, table in raw_stats.items():
        if name == "source":
            continue
        if isinstance(table, dict) and "label" in table:
            table = dict(table)
            stat_names[name] = str(table.pop("label"))
        parsed = year_table(table, f"[statistics] {name}", errors, span=span)
        if 0 in parsed:
            errors.append(_("[statistics] {name}: a statistic needs its year, e.g. {example}").format(
                name=name, example=f'{name} = {{ "2022" = {parsed[0]:g} }}'))
        statistics[name] = {y: v for y, v in parsed.items() if y != 0}

    rules = []
    seen = set()
    raw_rules = data.get("rule", [])
    if isinstance(raw_rules, dict):
        errors.append(_("write rules as [[rule]] (double brackets), one per rule; [rule] can appear only once"))
        raw_rules = [raw_rules]
    if not isinstance(raw_rules, list) or not raw_rules:
        errors.append(_("the plan has no [[rule]]"))
        raw_rules = []
    for n, raw in enumerate(raw_rules, start=1):
        if not isinstance(raw, dict):
            errors.append(_("rule {n} is not a table").format(n=n))
            continue
        rid = str(raw.get("id", f"#{n}"))
        where = _("rule {rule} (no. {n})").format(rule=rid, n=n)
        kind = raw.get("kind")
        if kind not in RULE_KINDS:
            errors.append(_("{where} kind: {kind!r} is not a rule kind{suggest}Kinds: {kinds}").format(
                where=where, kind=kind, suggest=suggest(kind, RULE_KINDS), kinds=", ".join(RULE_KINDS)))
            continue
        if "id" not in raw:
            errors.append(_("{where}: every rule needs an id").format(where=where))
        if rid in seen:
            errors.append(_("{where}: the id {rule!r} is used twice").format(where=where, rule=rid))
        seen.add(rid)
        for key in sorted(set(raw) - _ALLOWED[kind]):
            errors.append(_("{where}: a {kind} rule has no key '{key}'{suggest}Keys: {keys}").format(
                where=where, kind=kind, key=key, suggest=suggest(key, _ALLOWED[kind]),
                keys=", ".join(sorted(_ALLOWED[kind]))))
        for key in sorted(_REQUIRED[kind] - set(raw)):
            errors.append(_("{where}: a {kind} rule needs '{key}'").format(where=where, kind=kind, key=key))
        spec = dict(raw)
        layer = raw.get("layer")
        if layer is not None:
            if layer not in SCHEMAS:
                errors.append(_("{where} layer: there is no layer '{layer}'{suggest}Layers: {layers}").format(
                    where=where, layer=layer, suggest=suggest(layer, SCHEMAS), layers=", ".join(SCHEMAS)))
            else:
                if raw.get("where") is not None:
                    spec["where"] = check_where(where, layer, raw["where"], errors)
                if kind == "ratio":
                    for key in ("numerator", "denominator"):
                        if key in raw:
                            check_numeric_column(where, layer, key, raw[key], errors)
                if kind == "village_coverage" and "village_code" not in {f.name for f in SCHEMAS[layer].fields}:
                    errors.append(_("{where}: the layer {layer} has no village_code column: cannot count by village")
                                  .format(where=where, layer=layer))
        elif raw.get("where") is not None:
            errors.append(_("{where} where: no layer for where to filter").format(where=where))
        if "status" in raw:
            st = raw["status"]
            canon = "any" if st == "any" else (st if st in STATUS else STATUS_ALIASES.get(str(st).lower()))
            if canon is None:
                errors.append(_("{where} status: {value!r} is not a status{suggest}Values: {values}").format(
                    where=where, value=st, suggest=suggest(st, STATUS), values=_(", ").join([*STATUS, "any"])))
            spec["status"] = canon
        for key in ("numerator", "denominator", "statistic"):
            if key in raw and not isinstance(raw[key], str):
                errors.append(_("{where} {key}: should be a column or statistic name (text), not {value!r}").format(
                    where=where, key=key, value=raw[key]))
            elif key in raw and "layer" not in raw and raw[key] not in statistics:
                errors.append(_("{where} {key}: [statistics] has no '{name}'; add {name} = {{ \"year\" = value }} "
                                "to [statistics]").format(where=where, key=key, name=raw[key])
                              + (f"{suggest(raw[key], statistics)}" if statistics else ""))
        if kind == "per_population" and "statistic" not in raw and "layer" not in raw:
            errors.append(_("{where}: say what is counted: statistic = \"name\" or layer = \"…\"").format(where=where))
        if "population" in raw and raw["population"] not in POPULATION_COLUMNS:
            errors.append(_("{where} population: {value!r} is not a population column{suggest}Values: {values}").format(
                where=where, value=raw["population"], suggest=suggest(raw["population"], POPULATION_COLUMNS),
                values=", ".join(POPULATION_COLUMNS)))
        for key, kwargs in (("min_count", dict(integer=True, minimum=1)), ("minutes", dict(maximum=240)),
                            ("per", {}), ("threshold", dict(minimum=0))):
            example = {"min_count": 2, "minutes": 15, "per": 10000, "threshold": 10000}[key]
            check_positive(raw, key, where, errors, example=_(", e.g. {key} = {value}").format(key=key, value=example),
                      **kwargs)
        if raw.get("assign", "either") not in ("location", "column", "either"):
            errors.append(_("{where} assign: should be location, column or either, not {value!r}").format(
                where=where, value=raw.get("assign")))
        if raw.get("comparison", ">=") not in (">=", "<="):
            errors.append(_("{where} comparison: should be '>=' or '<='").format(where=where))
        share = kind in SHARE_KINDS or (kind == "statistic" and raw.get("unit") == "%")
        targets = year_table(raw.get("target"), f"{where} target", errors, share=share, span=span)
        baseline = year_table(raw.get("baseline"), f"{where} baseline", errors, share=share, span=span)
        if kind in COVERAGE_KINDS and "target" in raw:
            errors.append(_("{where} target: coverage rules have no target; write min_count = 1 for how many each "
                            "needs, from_year = 2021 for a requirement from a year on").format(where=where))
        if "from_year" in raw:
            fy = raw["from_year"]
            if isinstance(fy, bool) or not isinstance(fy, int) or not span[0] <= fy <= span[1]:
                errors.append(_("{where} from_year: should be a year within the plan's span {start}–{end}, such as "
                                "from_year = 2021, not {value!r}").format(where=where, start=span[0], end=span[1],
                                                                          value=fy))
        for key in ("title", "section", "quote", "group", "note", "unit"):
            if key in raw and not isinstance(raw[key], str):
                errors.append(_("{where} {key}: should be text (in quotes)").format(where=where, key=key))
        rules.append(Rule(
            id=rid, kind=kind, title=str(raw.get("title", rid)), group=str(raw.get("group", _(RULE_KINDS[kind]))),
            spec=spec, targets=targets, baseline=baseline, comparison=raw.get("comparison", ">="),
        ))

    not_evaluated = []
    raw_ne = data.get("not_evaluated", [])
    if isinstance(raw_ne, dict):
        errors.append(_("write targets that cannot be evaluated as [[not_evaluated]] (double brackets)"))
        raw_ne = [raw_ne]
    for n, raw in enumerate(raw_ne or [], start=1):
        where = _("target not evaluated {id} (no. {n})").format(id=raw.get("id", f"#{n}"), n=n)
        for key in sorted(set(raw) - NOT_EVALUATED_KEYS):
            errors.append(_("{where}: there is no key '{key}'; keys: {keys}").format(
                where=where, key=key, keys=", ".join(sorted(NOT_EVALUATED_KEYS))))
        for key in ("id", "title", "needs"):
            if key not in raw:
                errors.append(_("{where}: needs '{key}'").format(where=where, key=key))
        not_evaluated.append(NotEvaluated(
            id=str(raw.get("id", f"#{n}")), title=str(raw.get("title", "")), group=str(raw.get("group", "")),
            target=str(raw.get("target", "")), section=str(raw.get("section", "")),
            quote=str(raw.get("quote", "")), needs=str(raw.get("needs", ""))))

    if errors:
        raise PlanError(ngettext("The plan file {source} has {n} problem:", "The plan file {source} has {n} problems:",
                                 len(errors)).format(source=source, n=len(errors))
                        + "\n" + "\n".join(f"  - {e}" for e in errors))
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
    raise PlanError(_("{path} is not text in UTF-8 or GBK; save it as UTF-8 (Notepad: Save as).").format(path=p))


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
        raise PlanError(_("{path} is a folder, not a plan file; give one of its .toml files, e.g. {example} "
                          "(all: {files}).").format(path=p, example=p / found[0], files=_(", ").join(found))
                        if found else _("{path} is a folder, not a plan file; give one of its .toml files.").format(path=p))
    if not p.exists():
        raise PlanError(_("Plan file {path} not found. The sample plans are in plans/ (e.g. plans/330624_2022.toml).")
                        .format(path=p))
    text = _read_text(p)
    single = [i for i, line in enumerate(text.splitlines(), start=1) if re.fullmatch(r"\s*\[\s*rule\s*\]\s*", line)]
    if len(single) > 1:
        raise PlanError(_("{path} line {line}: write rules as [[rule]] (double brackets), one per rule; [rule] "
                          "appears {n} times (lines {lines}).").format(path=p, line=single[1], n=len(single),
                                                                       lines=_(", ").join(map(str, single))))
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = re.search(r"line (\d+), column (\d+)", str(exc))
        reason = str(exc)  # the TOML parser's own words (English), kept whole for those who search them
        if where:
            raise PlanError(_("{path} line {line}, column {column}: not valid TOML ({reason}). Check the quotes and "
                              "brackets of that line.").format(path=p, line=where[1], column=where[2],
                                                               reason=reason)) from exc
        raise PlanError(_("{path} is not valid TOML: {error}. Check the quotes and brackets of that line.").format(
            path=p, error=exc)) from exc
    return parse_plan(data, str(p))
