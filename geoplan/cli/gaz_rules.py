"""``geoplan gaz categories`` and ``geoplan gaz rules``: the naming rules' tables, registered on ``gaz``."""

from __future__ import annotations

import json

import click
from geoplan.gazetteer.lazy_pandas import pd

from geoplan import i18n
from geoplan.cli.gaz import _out, gaz, json_option, rules_option
from geoplan.gazetteer import naming


@gaz.command()
@rules_option
@json_option
def categories(rules_file, as_json):
    """The category codes, their generic parts (通名) and the scope of the duplicate rules.

    The codes are geoplan's PROVISIONAL list (暂定), not the codes of
    GB/T 18521; `--rules FILE` replaces them when the committee confirms the
    standard's codes.

    \b
    Example:
      geoplan gaz categories
    """
    cfg = naming.NamingConfig.from_json(rules_file) if rules_file else naming.DEFAULT_CONFIG
    df = pd.DataFrame([{"code": c.code, "category_name": c.name_zh, "generics": "/".join(c.generics),
                        "unique within": c.scope, "group": c.group, "basis": i18n._(naming.BASIS[c.basis])}
                       for c in cfg.categories.values()])
    if as_json:
        return _out({"provisional": True, "note": PROVISIONAL_NOTE, "categories": json.loads(
            df.to_json(orient="records", force_ascii=False))}, True)
    click.echo(i18n._("Note: these category codes are geoplan's provisional codes, not the official codes of "
                      "GB/T 18521 (rules for the classification and codes of place names); when the committee "
                      "confirms the official codes, replace them with --rules FILE.") + "\n")
    # --json keeps "" for "any generic part"; a person reads it in words
    _out(df.assign(generics=df["generics"].replace("", i18n._("(any)"))), False)


@gaz.command()
@json_option
def rules(as_json):
    """The naming rules: code, default severity, what each checks.

    \b
    Example:
      geoplan gaz rules
    """
    df = pd.DataFrame([{"rule": k, "severity": v[0], "checks": i18n._(v[1]),
                        "basis": i18n._(naming.BASIS[naming.RULE_BASIS[k]]) if k in naming.RULE_BASIS
                        else i18n._("the category's scope (see `geoplan gaz categories`)")}
                       for k, v in naming.RULES.items()])
    _out(df, as_json)


#: the note of the --json answer (the same in every language: scripts compare the answers)
PROVISIONAL_NOTE = ("注意：以下类别代码是 geoplan 的暂定编码（provisional），并非 GB/T 18521《地名分类与类别代码编制规则》"
                    "的正式代码；委员会确认正式代码后，可用 --rules 规则文件替换。")
