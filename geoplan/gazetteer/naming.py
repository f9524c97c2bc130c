"""Naming rules for standard place names (地名命名规则).

Each rule has a code, a severity (``error`` blocks a change, ``warning`` is
reported), a message citing its basis and, where it compares names, a
*scope*: the area in which two names of the same group must differ. The
default scopes are those of the 《地名管理条例》 (State Council Decree 753,
in force 2022-05-01), 第九条第一款 (text checked against the published
regulation, e.g. the LawRefBook/Laws copy of 行政法规/地名管理条例(2022-03-30)):

* county-level divisions: nationwide — 第（七）项 (全国范围内的县级以上行政区划名称);
* 乡、镇: within the province — 第（八）项 (同一个省级行政区域内的乡、镇名称);
* village and residents' committees (村、社区): within the county — 第（八）项
  (同一个县级行政区域内的村民委员会、居民委员会所在地名称);
* streets, roads, lanes and residential areas: within one built-up area —
  第（八）项 (同一个建成区内); geoplan does not know the built-up areas and
  checks the whole county, which can only report more, never less.

Where the regulation sets no scope (街道, natural villages, natural
features other than the nationally famous ones, bridges, facilities) the
scope is geoplan's own, and the message says so. Generic parts that fit the
category follow 第九条 (专名 and 通名; 第（二）项 the entity's nature),
characters 第（三）项 (国家通用语言文字, no rare characters); the length limit,
one-place-one-name and former-name checks are geoplan's own.

Category codes: the table :data:`CATEGORIES` is a **provisional** four-digit
code list in the spirit of GB/T 18521-2001 (地名分类与类别代码编制规则). The
text of the standard could not be consulted while this was written, so the
codes are geoplan's own, consistent with the ``place_names`` layer schema
(1120 for townships); replace the table with the standard's codes when the
committee confirms them (:class:`NamingConfig` takes overrides from JSON).

Every rule works on a whole table at once (:func:`check_frame`), so the same
code checks one new name against its neighbours and a million-name county
gazetteer in :func:`validate_all`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache, partial
from pathlib import Path

import numpy as np
from geoplan.gazetteer.lazy_pandas import pd

from geoplan import i18n
from geoplan.errors import GeoplanError
from geoplan.gazetteer import naming_rules
from geoplan.gazetteer.labels import for_reading, value as label_value
from geoplan.gazetteer.naming_rules import (  # noqa: F401 (re-exported: the rules' data lived here)
    _DIGIT_LATIN, BASIS, CATEGORIES, DEFAULT_ALLOWED_CHARS, RULE_BASIS, RULES, SCOPE_DIGITS, SCOPE_WORDS,
    UNIT_WORDS, VARIANTS, Category, cite)
from geoplan.i18n import N_, _, catalog, ngettext


class NamingError(GeoplanError):
    """A new or changed name breaks a naming rule (nothing was changed)."""

    def __init__(self, violations: pd.DataFrame, what: str):
        self.violations = violations
        lines = [ngettext("{what} breaks {n} naming rule; nothing was changed:",
                          "{what} breaks {n} naming rules; nothing was changed:", len(violations)).format(
            what=what, n=len(violations))]
        for v in violations.itertuples():
            lines.append(f"  - {v.rule} {label_value('severity', v.severity)}: {v.message}")
        lines.append(_("Choose another name; for a deliberate exception add --force and state the grounds "
                       "with --why."))
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class NamingConfig:
    """Which rules apply, with what severity and scopes.

    Attributes
    ----------
    categories : dict
        Category code → :class:`Category`.
    disabled : frozenset of str
        Rule codes not to check.
    severity : dict
        Rule code → ``error`` or ``warning``, overriding :data:`RULES`.
    min_length, max_length : int
        Length limits of a standard name in characters.
    allowed_chars : str
        Characters outside GB 2312 not to flag as rare.
    """

    categories: dict = field(default_factory=lambda: dict(CATEGORIES))
    disabled: frozenset = frozenset()
    severity: dict = field(default_factory=dict)
    min_length: int = 2
    max_length: int = 12
    allowed_chars: str = DEFAULT_ALLOWED_CHARS

    @classmethod
    def from_json(cls, path) -> "NamingConfig":
        """Read overrides from a JSON file.

        Keys (all optional): ``scopes`` {code: scope}, ``disabled`` [rule codes],
        ``severity`` {rule: error|warning}, ``min_length``, ``max_length``,
        ``allowed_chars``, ``categories`` {code: {name_zh, generics, scope, group, joined}}.

        Raises
        ------
        GeoplanError
            If the file cannot be read or holds unknown keys or values.
        """
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise GeoplanError(_("Cannot read the naming-rule file {path}: {reason}. It must be a JSON object.")
                               .format(path=p, reason=exc)) from exc
        if not isinstance(data, dict):
            raise GeoplanError(_("The naming-rule file {path} must hold a JSON object.").format(path=p))
        unknown = set(data) - {"scopes", "disabled", "severity", "min_length", "max_length", "allowed_chars",
                               "categories"}
        if unknown:
            raise GeoplanError(_("{path}: unknown key(s) {keys}.").format(path=p, keys=", ".join(sorted(unknown))))
        cats = dict(CATEGORIES)
        for code, spec in data.get("categories", {}).items():
            cats[str(code)] = Category(str(code), spec.get("name_zh", str(code)), tuple(spec.get("generics", ())),
                                       spec.get("scope", "county"), spec.get("group", str(code)),
                                       bool(spec.get("joined", False)), basis="rules")
        for code, scope in data.get("scopes", {}).items():
            if str(code) not in cats:
                raise GeoplanError(_("{path}: scope given for unknown category {code}.").format(path=p, code=code))
            # The committee's own scope: the regulation's article no longer applies.
            cats[str(code)] = replace(cats[str(code)], scope=scope, basis="rules", exceptions=(), strict=None)
        for c in cats.values():
            if c.scope not in SCOPE_DIGITS:
                raise GeoplanError(_("{path}: scope {scope!r} of category {code} is not one of {scopes}.").format(
                    path=p, scope=c.scope, code=c.code, scopes=", ".join(SCOPE_DIGITS)))
        sev = {str(k): str(v) for k, v in data.get("severity", {}).items()}
        bad = [k for k, v in sev.items() if k not in RULES or v not in ("error", "warning")]
        if bad or any(r not in RULES for r in data.get("disabled", [])):
            raise GeoplanError(_("{path}: unknown rule code or severity in 'severity'/'disabled' (rules: {rules}; "
                                 "severities: error, warning).").format(path=p, rules=", ".join(RULES)))
        return cls(categories=cats, disabled=frozenset(data.get("disabled", [])), severity=sev,
                   min_length=int(data.get("min_length", 2)), max_length=int(data.get("max_length", 12)),
                   allowed_chars=str(data.get("allowed_chars", DEFAULT_ALLOWED_CHARS)))

    def severity_of(self, rule: str) -> str:
        return self.severity.get(rule, RULES[rule][0])


DEFAULT_CONFIG = NamingConfig()

REPORT_COLUMNS = ["rule", "severity", "name_id", "name", "category", "parent_code", "message", "related_ids"]


def scope_key(parent_code: str, scope: str) -> str:
    """The part of a parent code that identifies the scope (``330624`` for county scope)."""
    digits = SCOPE_DIGITS[scope]
    return "" if digits == 0 else (parent_code or "")[:digits]


def rare_characters(name: str, allowed: str = DEFAULT_ALLOWED_CHARS) -> list[str]:
    """Characters of ``name`` that are variant forms or outside GB 2312 (the common-use set)."""
    out = []
    for ch in name:
        if ch in VARIANTS:
            out.append(ch)
            continue
        if ch in allowed or not ("\u3400" <= ch <= "\u9fff" or ch >= "\U00020000"):
            continue
        try:
            ch.encode("gb2312")
        except UnicodeEncodeError:
            out.append(ch)
    return out


def check_frame(df: pd.DataFrame, config: NamingConfig = DEFAULT_CONFIG, only_ids=None) -> pd.DataFrame:
    """Check every current name of a table against every rule.

    Parameters
    ----------
    df : pandas.DataFrame
        Columns ``name_id, name, generic, category, parent_code, pinyin_key,
        geometry`` (WKT or None) and ``former_names`` (list of dicts with
        ``name``); only current names should be passed.
    config : NamingConfig
        Rules, severities and scopes.
    only_ids : iterable of str, optional
        Report only violations of these records (checking a new name against
        its neighbours).

    Returns
    -------
    pandas.DataFrame
        One row per violation, columns :data:`REPORT_COLUMNS`, errors first.

    Notes
    -----
    The per-name rules run as column operations and the comparing rules
    first pick, with a hash of the whole column, the few rows that share a
    key with another row; only those are visited one by one. Within each
    rule the violations come out in the order a row-by-row pass produces
    them, and the final sort is stable, so the report does not depend on
    how it was computed.
    """
    cats = config.categories
    on = [r for r in RULES if r not in config.disabled]
    if df.empty:
        return pd.DataFrame(columns=REPORT_COLUMNS)
    # A national list gets tens of thousands of messages from a few texts, and every translation reads the
    # environment for the language: translate each text once per check.
    _ = lru_cache(maxsize=None)(i18n._)
    cite = partial(naming_rules.cite, translate=_)
    d = df.reset_index(drop=True)
    n = len(d)
    name_s = d["name"].fillna("").astype(str)
    parent_s = d["parent_code"].fillna("").astype(str)
    # Plain lists: row-wise pandas access would dominate at a million names.
    ids = d["name_id"].tolist()
    names = name_s.tolist()
    cat_l = d["category"].tolist()
    parents = parent_s.tolist()
    groups = [cats[c].group if c in cats else f"?{c}" for c in cat_l]
    scopes = [cats[c].scope if c in cats else "county" for c in cat_l]
    bases = [cats[c].basis if c in cats else "own" for c in cat_l]
    stricts = [cats[c].strict if c in cats else None for c in cat_l]
    cat_codes = pd.Series(cat_l, dtype=object)
    for code, cat in cats.items():
        if cat.exceptions:
            rows = np.flatnonzero((cat_codes == code).to_numpy()).tolist()
        for suffix, scope, basis in cat.exceptions:
            for i in rows:
                if names[i].endswith(suffix):
                    scopes[i], bases[i], stricts[i] = scope, basis, None
    skeys = _scope_keys(parent_s, scopes)
    keys = d["pinyin_key"].fillna("").tolist() if "pinyin_key" in d else [""] * n
    wanted = None if only_ids is None else set(only_ids)
    mine = np.ones(n, dtype=bool) if wanted is None else np.fromiter((i in wanted for i in ids), bool, n)
    out = {c: [] for c in REPORT_COLUMNS}

    def emit(rule, idx, messages, related=None, severities=None):
        # ``idx`` is already restricted to the reported records.
        sev = config.severity_of(rule)
        for k, i in enumerate(idx):
            out["rule"].append(rule)
            out["severity"].append(sev if severities is None else severities[k])
            out["name_id"].append(ids[i])
            out["name"].append(names[i])
            out["category"].append(cat_l[i])
            out["parent_code"].append(parents[i])
            out["message"].append(messages[k])
            out["related_ids"].append("" if related is None else " ".join(related[k]))

    def rows_of(mask) -> list[int]:
        return np.flatnonzero(mask & mine).tolist()

    lengths = np.fromiter(map(len, names), dtype=np.int64, count=n)
    if "N060" in on:
        idx = rows_of(np.fromiter((c not in cats for c in cat_l), bool, n))
        tpl = _("{name}: category code {code!r} is not in the category table (see `geoplan gaz categories`)")
        emit("N060", idx, [cite("N060", tpl.format(name=names[i], code=cat_l[i]), RULE_BASIS["N060"]) for i in idx])
    if "N001" in on:
        # Python's strip, not the string backend's: their ideas of whitespace differ.
        idx = rows_of(np.fromiter((len(x.strip()) < config.min_length for x in names), bool, n))
        tpl = _("{name}: a standard name needs at least {n} characters")
        emit("N001", idx, [cite("N001", tpl.format(name=names[i] or _("(empty)"), n=config.min_length),
                                RULE_BASIS["N001"]) for i in idx])
    if "N002" in on:
        idx = rows_of(lengths > config.max_length)
        tpl = _("{name}: {n} characters, over the limit of {limit}")
        emit("N002", idx, [cite("N002", tpl.format(name=names[i], n=len(names[i]), limit=config.max_length),
                                RULE_BASIS["N002"]) for i in idx])
    if "N040" in on:
        idx = rows_of(np.fromiter((_DIGIT_LATIN.search(x) is not None for x in names), bool, n))
        tpl = _("{name}: a standard name must not contain digits or Latin letters; write numbers in Chinese "
                "characters (一, 二 …)")
        emit("N040", idx, [cite("N040", tpl.format(name=names[i]), RULE_BASIS["N040"]) for i in idx])
    if "N050" in on:
        rare_of = _rare_by_name({names[i] for i in np.flatnonzero(mine)}, config.allowed_chars)
        idx = rows_of(np.fromiter((bool(rare_of.get(x)) for x in names), bool, n))
        msgs = []
        tpl = _("{name}: rare or variant characters {chars}; check them against the Table of General Standard "
                "Chinese Characters")
        for i in idx:
            hints = [f"{c}→{VARIANTS[c]}" if c in VARIANTS else c for c in rare_of[names[i]]]
            msgs.append(cite("N050", tpl.format(name=names[i], chars=" ".join(hints)), RULE_BASIS["N050"]))
        emit("N050", idx, msgs)
    if "N030" in on:
        bad = np.zeros(n, dtype=bool)
        for code, cat in cats.items():
            if not cat.generics:
                continue
            rows = np.flatnonzero((cat_codes == code).to_numpy() & mine)
            if not len(rows):
                continue
            # Each distinct name once: a national list repeats its village names.
            fit_of = {x: any(x.endswith(g) and len(x) > len(g) for g in cat.generics)
                      for x in {names[i] for i in rows.tolist()}}
            fits = np.fromiter((fit_of[names[i]] for i in rows.tolist()), bool, len(rows))
            bad[rows[~fits]] = True
        idx = rows_of(bad)
        msgs = []
        tpl = _("{name}: the generic part does not fit category {code} {category}; names of this category end "
                "with {generics}")
        for i in idx:
            cat = cats[cat_l[i]]
            msgs.append(cite("N030", tpl.format(name=names[i], code=cat.code, category=cat.name_zh,
                                                generics="/".join(cat.generics)), RULE_BASIS["N030"]))
        emit("N030", idx, msgs)

    def scope_words(i):
        return _(SCOPE_WORDS[scopes[i]]) + (f" {skeys[i]}" if skeys[i] else "")

    def clusters(cols, valid):
        # Hash the key columns once to find rows sharing a key with another
        # row; only those are grouped in Python, in first-seen order.
        rows = np.flatnonzero(valid)
        if len(rows) < 2:
            return []
        frame = pd.DataFrame({k: pd.Series(col, dtype=object).iloc[rows].to_numpy() for k, col in enumerate(cols)})
        rows = rows[frame.duplicated(keep=False).to_numpy()]
        found: dict[tuple, list[int]] = {}
        for i in rows.tolist():
            found.setdefault(tuple(col[i] for col in cols), []).append(i)
        return [idx for idx in found.values() if len(idx) > 1 and (wanted is None or any(mine[j] for j in idx))]

    if "N010" in on:
        idx, msgs, rel = [], [], []
        tpl = _("{name}: same name as {others} (must not repeat within {scope})")
        tpl_wide = _("{name}: same name as {others} within {scope} (must not repeat; they are in different {unit}, "
                     "so this is a warning about names already approved)")
        sevs = []
        for cl in clusters((groups, skeys, names), name_s.to_numpy(dtype=object) != ""):
            for i in cl:
                if mine[i]:
                    others = [ids[j] for j in cl if j != i]
                    idx.append(i)
                    rel.append(others)
                    strict = stricts[i]
                    digits = SCOPE_DIGITS[strict] if strict else 0
                    if strict and not any(parents[j][:digits] == parents[i][:digits] for j in cl if j != i):
                        sevs.append("warning")
                        msgs.append(cite("N010", tpl_wide.format(name=names[i], others=", ".join(others),
                                                                 scope=scope_words(i), unit=_(UNIT_WORDS[strict])),
                                         bases[i]))
                    else:
                        sevs.append(config.severity_of("N010"))
                        msgs.append(cite("N010", tpl.format(name=names[i], others=", ".join(others),
                                                            scope=scope_words(i)), bases[i]))
        emit("N010", idx, msgs, rel, sevs)
    if "N011" in on:
        idx, msgs, rel = [], [], []
        tpl = _("{name}: sounds like {others} ({key}; to be avoided within {scope})")
        for cl in clusters((groups, skeys, keys), np.fromiter((bool(k) for k in keys), bool, n)):
            for i in cl:
                others = [j for j in cl if names[j] != names[i]]
                if others and mine[i]:
                    listed = ", ".join(f"{names[j]} ({ids[j]})" for j in others)
                    idx.append(i)
                    rel.append([ids[j] for j in others])
                    msgs.append(cite("N011", tpl.format(name=names[i], others=listed, key=keys[i],
                                                        scope=scope_words(i)), bases[i]))
        emit("N011", idx, msgs, rel)
    if "N020" in on and "geometry" in d:
        geoms = d["geometry"].tolist()
        idx, msgs, rel = [], [], []
        tpl = _("{name}: the same feature (identical geometry) also has the standard name(s) {others}; one place, "
                "one name: keep one and record the others as former names")
        valid = np.fromiter((isinstance(g, str) and bool(g) for g in geoms), bool, n)
        for cl in clusters((groups, geoms), valid):
            if len({names[j] for j in cl}) < 2:
                continue  # same name and place: reported as a duplicate
            for i in cl:
                if mine[i]:
                    idx.append(i)
                    rel.append([ids[j] for j in cl if j != i])
                    msgs.append(cite("N020", tpl.format(name=names[i], others=", ".join(names[j] for j in cl if j != i)),
                                     RULE_BASIS["N020"]))
        emit("N020", idx, msgs, rel)
    if "N021" in on and "former_names" in d:
        former: dict[tuple, list[int]] = {}
        for j, fl in enumerate(d["former_names"].tolist()):
            if isinstance(fl, list):
                for f in fl:
                    former.setdefault((groups[j], skeys[j], f.get("name")), []).append(j)
        if former:
            formers = {k[2] for k in former}
            idx, msgs, rel = [], [], []
            tpl = _("{name}: is a former name of {ids} in the same scope; reusing it confuses old records and maps")
            for i in rows_of(np.fromiter((x in formers for x in names), bool, n)):
                hits = [j for j in former.get((groups[i], skeys[i], names[i]), ()) if j != i]
                if hits:
                    idx.append(i)
                    rel.append([ids[j] for j in hits])
                    msgs.append(cite("N021", tpl.format(name=names[i], ids=", ".join(ids[j] for j in hits)),
                                     RULE_BASIS["N021"]))
            emit("N021", idx, msgs, rel)
    if not out["rule"]:
        return pd.DataFrame([], columns=REPORT_COLUMNS)
    report = pd.DataFrame(out, columns=REPORT_COLUMNS)
    report["_o"] = report["severity"].map({"error": 0, "warning": 1})
    # A stable sort: ties keep the order each rule found them in.
    return report.sort_values(["_o", "rule", "parent_code", "name"]).drop(columns="_o").reset_index(drop=True)


def _scope_keys(parents: pd.Series, scopes: list[str]) -> list[str]:
    """:func:`scope_key` of every row, sliced per scope rather than per row."""
    digits = np.array([SCOPE_DIGITS[s] for s in scopes], dtype=np.int64)
    keys = np.full(len(parents), "", dtype=object)
    for k in np.unique(digits):
        if k:
            rows = np.flatnonzero(digits == k)
            keys[rows] = parents.iloc[rows].str.slice(0, int(k)).to_numpy(dtype=object)
    return keys.tolist()


def _rare_by_name(names, allowed: str) -> dict[str, list[str]]:
    """:func:`rare_characters` of each distinct name, deciding each distinct character only once."""
    chars = set("".join(names))
    rare = {ch for ch in chars if rare_characters(ch, allowed)}
    if not rare:
        return {}
    return {x: [ch for ch in x if ch in rare] for x in names if not rare.isdisjoint(x)}


def validate_all(store, config: NamingConfig = DEFAULT_CONFIG, as_of: str | None = None) -> pd.DataFrame:
    """Check every current name of a gazetteer against every rule at once.

    Parameters
    ----------
    store : geoplan.gazetteer.store.Gazetteer
        The gazetteer.
    config : NamingConfig
        Rules, severities and scopes.
    as_of : str, optional
        ISO date: check the names valid on that day instead of today's.

    Returns
    -------
    pandas.DataFrame
        The report: one row per violation, columns :data:`REPORT_COLUMNS`.
    """
    df = store.frame(as_of=as_of)
    return check_frame(df, config)


def summary(report: pd.DataFrame) -> pd.DataFrame:
    """Count of violations per rule and severity, with the rule's description."""
    if report.empty:
        return pd.DataFrame(columns=["rule", "severity", "what", "count"])
    s = report.groupby(["rule", "severity"]).size().rename("count").reset_index()
    s.insert(2, "what", s["rule"].map(lambda r: _(RULES[r][1])))
    return s


def for_people(report: pd.DataFrame, lang: str | None = None) -> pd.DataFrame:
    """The naming report, or its :func:`summary`, for people: headers and severities in ``lang``.

    Files and tables for people go through this; ``--json`` and code keep the English keys (``severity =
    "warning"`` …). The rule descriptions follow ``lang``; the messages stay in the check's language.

    Parameters
    ----------
    report : pandas.DataFrame
        From :func:`check_frame`, :func:`validate_all` or :func:`summary`.
    lang : str, optional
        ``"zh_CN"`` or ``"en"``; default the current language.

    Returns
    -------
    pandas.DataFrame
        A copy with translated headers and values.

    Examples
    --------
    >>> s = pd.DataFrame({"rule": ["N011"], "severity": ["warning"], "what": ["…"], "count": [3]})
    >>> for_people(s, "zh_CN").to_dict("records")
    [{'规则': 'N011', '级别': '警告', '检查内容': '范围内同音（应避免同音）', '数量': 3}]
    >>> for_people(s, "en").iloc[0].tolist()[:3]
    ['N011', 'warning', 'same sound within the scope (should be avoided)']
    """
    out = report.copy()
    if "what" in out.columns and "rule" in out.columns:
        out["what"] = [catalog(lang).gettext(RULES[r][1]) if r in RULES else w
                       for r, w in zip(out["rule"], out["what"])]
    return for_reading(out, lang)
