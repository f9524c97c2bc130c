"""County plan targets as data: loading and checking plan files.

A plan file (TOML) lists a county's targets as rules. Each rule has a kind:

``full_coverage``
    every township has at least ``min_count`` operating facilities of a layer
    (optionally filtered), counted by location inside the township, by the
    layer's ``township_code`` column, or either.
``population_threshold``
    every township whose population reaches ``threshold`` has one.
``ratio``
    ``sum(numerator) / sum(denominator)`` over a filtered layer (e.g. nursing
    beds / beds of 养老机构), or a ratio of two statistics.
``per_population``
    a statistic per ``per`` people (e.g. social organisations per 10,000
    residents; care workers per 10,000 elderly with ``population = "pop_60plus"``).
``travel_time``
    share of the population (or of people aged 60+) within ``minutes`` by
    road of a facility kind.

Targets are a number or a table by year (``{ "2020" = 0.53, "2025" = 0.58 }``);
a plan is evaluated for one year, using the target of the latest year not
after it. ``baseline`` tables (the 2020 column of a 十四五 plan) are kept for
reports. The schema is documented in ``plans/README.md``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from geoplan.errors import GeoplanError
from geoplan.layers.schema import SCHEMAS


class PlanError(GeoplanError):
    """A plan file cannot be read or breaks the plan schema."""


RULE_KINDS = ("full_coverage", "population_threshold", "ratio", "per_population", "travel_time")
_COMMON = {"id", "kind", "title", "group", "target", "baseline", "comparison", "note", "source"}
_ALLOWED = {
    "full_coverage": _COMMON | {"layer", "where", "status", "assign", "min_count"},
    "population_threshold": _COMMON | {"layer", "where", "status", "assign", "min_count", "threshold",
                                       "population"},
    "ratio": _COMMON | {"layer", "where", "status", "numerator", "denominator", "scope"},
    "per_population": _COMMON | {"statistic", "population", "per", "layer", "where", "status"},
    "travel_time": _COMMON | {"layer", "where", "status", "minutes", "population"},
}
_REQUIRED = {
    "full_coverage": {"layer"},
    "population_threshold": {"layer", "threshold"},
    "ratio": {"target"},
    "per_population": {"target"},
    "travel_time": {"layer", "minutes", "target"},
}


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


@dataclass(frozen=True)
class Plan:
    """A county plan: metadata, rules and optional statistics."""

    county: str
    name: str
    rules: tuple[Rule, ...]
    statistics: dict[str, dict[int, float]]
    source: str = ""
    path: str = ""
    year: int | None = None

    def default_year(self) -> int:
        """Year to evaluate when none is asked for: ``[plan] year``, else the latest target year."""
        if self.year is not None:
            return self.year
        years = [y for r in self.rules for y in r.targets if y]
        if not years:
            raise PlanError(f"Plan {self.name!r} names no year: add year = 2022 to its [plan] table "
                            "or give the year to evaluate.")
        return max(years)

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise PlanError(f"Plan {self.name!r} has no rule {rule_id!r}; its rules: "
                        + ", ".join(r.id for r in self.rules))

    def statistic(self, name: str, year: int) -> tuple[float, int] | None:
        """Latest value of a statistic not after ``year``, with its year."""
        table = self.statistics.get(name, {})
        years = [y for y in table if y <= year]
        return (table[max(years)], max(years)) if years else None


def _year_table(value, where: str, errors: list[str]) -> dict[int, float]:
    if value is None:
        return {}
    if isinstance(value, bool):
        errors.append(f"{where}: expected a number or a table of numbers by year, got {value!r}")
        return {}
    if isinstance(value, (int, float)):
        return {0: float(value)}
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            try:
                year = int(k)
            except (TypeError, ValueError):
                errors.append(f"{where}: '{k}' is not a year")
                continue
            if not 1949 <= year <= 2100:
                errors.append(f"{where}: year {year} is out of range")
            elif isinstance(v, bool) or not isinstance(v, (int, float)):
                errors.append(f"{where}: the value for {year} must be a number, got {v!r}")
            else:
                out[year] = float(v)
        return out
    errors.append(f"{where}: expected a number or a table by year such as {{ \"2020\" = 0.53, \"2025\" = 0.58 }}")
    return {}


def parse_plan(data: dict, source: str = "<plan>") -> Plan:
    """Check a parsed plan document and build a :class:`Plan`.

    Raises
    ------
    PlanError
        Listing every problem: unknown rule kind or key, missing keys,
        unknown layer or column, bad targets, duplicate rule IDs.
    """
    errors: list[str] = []
    meta = data.get("plan")
    if not isinstance(meta, dict):
        raise PlanError(f"{source}: the file needs a [plan] table with at least county = \"330624\" and name = \"…\".")
    county = str(meta.get("county", ""))
    if not (county.isdigit() and len(county) == 6):
        errors.append(f"[plan] county must be a 6-digit county code, got {meta.get('county')!r}")
    year = meta.get("year")
    if year is not None and (isinstance(year, bool) or not isinstance(year, int) or not 1949 <= year <= 2100):
        errors.append(f"[plan] year must be a year such as 2022, got {year!r}")
        year = None
    statistics = {}
    for name, table in (data.get("statistics") or {}).items():
        if name == "source":
            continue
        statistics[name] = _year_table(table, f"[statistics] {name}", errors)
        statistics[name] = {y: v for y, v in statistics[name].items() if y != 0}
    rules = []
    seen = set()
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list) or not raw_rules:
        errors.append("the plan has no [[rule]] entries")
        raw_rules = []
    for n, raw in enumerate(raw_rules, start=1):
        rid = str(raw.get("id", f"#{n}"))
        where = f"[[rule]] {rid} (rule {n})"
        kind = raw.get("kind")
        if kind not in RULE_KINDS:
            errors.append(f"{where}: kind must be one of {', '.join(RULE_KINDS)}, got {kind!r}")
            continue
        if "id" not in raw:
            errors.append(f"{where}: every rule needs an id")
        if rid in seen:
            errors.append(f"{where}: the id {rid!r} is used twice")
        seen.add(rid)
        for key in sorted(set(raw) - _ALLOWED[kind]):
            errors.append(f"{where}: unknown key '{key}' for a {kind} rule "
                          f"(allowed: {', '.join(sorted(_ALLOWED[kind]))})")
        for key in sorted(_REQUIRED[kind] - set(raw)):
            errors.append(f"{where}: a {kind} rule needs '{key}'")
        layer = raw.get("layer")
        if layer is not None:
            if layer not in SCHEMAS:
                errors.append(f"{where}: unknown layer '{layer}' (layers: {', '.join(SCHEMAS)})")
            else:
                columns = {f.name for f in SCHEMAS[layer].fields}
                for col in list((raw.get("where") or {}).keys()) + [raw.get(k) for k in ("numerator", "denominator")
                                                                      if raw.get(k)]:
                    if col not in columns:
                        errors.append(f"{where}: layer '{layer}' has no column '{col}'")
        if kind == "ratio" and "layer" in raw and not {"numerator", "denominator"} <= set(raw):
            errors.append(f"{where}: a ratio over a layer needs numerator and denominator columns")
        if kind == "ratio" and "layer" not in raw and not {"numerator", "denominator"} <= set(raw):
            errors.append(f"{where}: a ratio of statistics needs numerator and denominator statistic names")
        if kind == "per_population" and "statistic" not in raw and "layer" not in raw:
            errors.append(f"{where}: give the counted thing: statistic = \"name\" or layer = \"…\"")
        if raw.get("assign", "either") not in ("location", "column", "either"):
            errors.append(f"{where}: assign must be location, column or either")
        if raw.get("comparison", ">=") not in (">=", "<="):
            errors.append(f"{where}: comparison must be '>=' or '<='")
        targets = _year_table(raw.get("target"), f"{where} target", errors)
        baseline = _year_table(raw.get("baseline"), f"{where} baseline", errors)
        rules.append(Rule(
            id=rid, kind=kind, title=str(raw.get("title", rid)), group=str(raw.get("group", kind)),
            spec=dict(raw), targets=targets, baseline=baseline, comparison=raw.get("comparison", ">="),
        ))
    if errors:
        raise PlanError(f"{source}: {len(errors)} problem(s) in the plan file:\n" + "\n".join(f"  - {e}" for e in errors))
    return Plan(county=county, name=str(meta.get("name", county)), rules=tuple(rules), statistics=statistics,
                source=str(meta.get("source", "")), path=source, year=year)


def load_plan(path) -> Plan:
    """Read a TOML plan file.

    Raises
    ------
    PlanError
        Missing file, TOML syntax error (with line and column), or schema problems.
    """
    p = Path(path)
    if not p.exists():
        raise PlanError(f"Plan file not found: {p}. The sample plans are in plans/ (e.g. plans/330624_2022.toml).")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise PlanError(f"{p} is not UTF-8 text; save it as UTF-8.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(f"{p} is not valid TOML: {exc}. Check quotes and brackets on that line.") from exc
    return parse_plan(data, str(p))
