"""``geoplan gaz``: the place-name committee's command line over :mod:`geoplan.gazetteer.store`.

Every command reads the gazetteer from ``--db`` / ``$GEOPLAN_GAZETTEER`` /
``./gazetteer.sqlite``, prints a readable table (``--json`` for scripts) and
turns every :class:`geoplan.errors.GeoplanError` into a message and exit
status 1. Commands that change names take ``--user`` (default: the OS user)
and ``--why``, both written to the change log.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from pathlib import Path

import click
from geoplan.gazetteer.lazy_pandas import pd

from geoplan.gazetteer import store as gz
from geoplan.gazetteer import naming
from geoplan.gazetteer import romanize
from geoplan.gazetteer import labels
from geoplan import output
from geoplan import i18n
from geoplan.cli import gaz_table
from geoplan.cli.util import ErrorGroup, PathArg


def _lead(exc) -> str:
    """A Chinese first sentence for an error whose detail may be in English (messages shared with other groups)."""
    from geoplan.errors import DataFileError, ValidationError

    if isinstance(exc, output.OutputError):
        return ""  # already Chinese
    if isinstance(exc, DataFileError):
        return i18n._("The input file cannot be read; nothing was changed. ")
    if isinstance(exc, ValidationError):
        return i18n._("The input file has errors; nothing was changed. ")
    if isinstance(exc, naming.NamingError):
        return i18n._("A naming rule is broken; nothing was changed. ")
    if isinstance(exc, gz.NameNotFoundError):
        return i18n._("No such place name or ID in the gazetteer. ")
    if isinstance(exc, gz.RecordError):
        return i18n._("A field value is wrong; nothing was changed. ")
    return i18n._("The gazetteer was not changed. ")


def _error(message: str) -> str:
    return i18n._("Error: {message}").format(message=message)


class _GazGroup(ErrorGroup):
    """Also turns a locked or damaged database into a message and exit 1; every message starts in Chinese."""

    def invoke(self, ctx):
        from geoplan.errors import GeoplanError

        try:
            return click.Group.invoke(self, ctx)
        except GeoplanError as exc:
            text = str(exc)
            # A message that already says in Chinese what was (not) done needs no lead sentence.
            said = any(w in text for w in ("未作", "未写", "未导入", "未能", "othing was", "othing is"))
            click.echo(_error(f"{'' if said else _lead(exc)}{text}"), err=True)
            ctx.exit(1)
        except sqlite3.OperationalError as exc:
            click.echo(_error(i18n._("The gazetteer database could not be written; nothing was changed ({reason}). "
                                     "Another program may be holding it for a long time, or the disk is full or "
                                     "read-only.").format(reason=exc)), err=True)
            ctx.exit(1)
        except sqlite3.DatabaseError as exc:
            click.echo(_error(i18n._("The gazetteer file is damaged or is not a gazetteer ({reason}); nothing was "
                                     "changed.").format(reason=exc)), err=True)
            ctx.exit(1)


def _table(df: pd.DataFrame) -> str:
    if df.empty:
        return i18n._("(none)")
    with pd.option_context("display.width", 250, "display.max_columns", 50, "display.max_rows", 1000,
                           "display.max_colwidth", 90, "display.unicode.east_asian_width", True):
        return df.to_string(index=False)


def _out(obj, as_json: bool, text=None) -> None:
    if as_json:
        if isinstance(obj, pd.DataFrame):
            obj = json.loads(obj.to_json(orient="records", force_ascii=False))
        click.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))
    elif text is not None:
        click.echo(text)
    elif isinstance(obj, pd.DataFrame):
        click.echo(_table(labels.for_reading(obj)))
    else:
        click.echo(obj)


def _db_value(ctx, param, value):
    # A postgresql://… URL stays text (a Path would fold its "//"); anything else is a file path.
    if value is None or gz.pg.is_url(value):
        return value
    return Path(value)


def db_option(f):
    return click.option("--db", type=str, envvar=gz.ENV_VAR, callback=_db_value,
                        # Also a postgresql://user@host/dbname URL (docs/gazetteer_postgresql.md); the help
                        # text stays the catalogued one until its Chinese translation is updated.
                        help=f"Gazetteer file (default ${gz.ENV_VAR} or ./{gz.DEFAULT_PATH}).")(f)


def _db_exists(db) -> bool:
    """Whether the gazetteer named by ``db`` is there (a PostgreSQL URL: the server is asked on open)."""
    url = db if db is not None else os.environ.get(gz.ENV_VAR)
    return True if gz.pg.is_url(url) else gz.default_path(db).exists()


def json_option(f):
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output.")(f)


def who_options(f):
    f = click.option("--why", help="Reason, written to the change log (e.g. the approval document).")(f)
    return click.option("--user", "who", help="Who makes the change (default: the OS user).")(f)


def rules_option(f):
    return click.option("--rules", "rules_file", type=PathArg(path_type=Path),
                        help="JSON file overriding naming-rule scopes/severities (see `gaz rules`).")(f)


def _open(db, rules_file=None, create=False) -> gz.Gazetteer:
    config = naming.NamingConfig.from_json(rules_file) if rules_file else None
    return gz.Gazetteer(db, create=create, config=config)


def _record_view(rec: dict) -> pd.DataFrame:
    rows = []
    for c in gz.COLUMNS:
        v = rec.get(c)
        if c in ("pinyin_key", "initials"):
            continue
        if c == "former_names":
            v = "; ".join(f"{f['name']} ({f.get('from') or '?'} – {f.get('to') or '?'})" for f in v) or ""
        elif c == "sources":
            v = "; ".join(v)
        rows.append({"field": labels.header(c), "value": "" if v is None else labels.value(c, v)})
    return labels.for_reading(pd.DataFrame(rows))


def _report_warnings(report: pd.DataFrame) -> None:
    if report is not None and not report.empty:
        click.echo(i18n._("Naming-rule notes:"))
        for r in report.itertuples():
            click.echo(f"  {r.rule} {labels.value('severity', r.severity)}: {r.message}")


@click.group("gaz", cls=_GazGroup, context_settings={"help_option_names": ["-h", "--help"]})
def gaz():
    """Place-name gazetteer (地名库) of the place-name committee.

    \b
    Example:
      geoplan gaz init --db xinchang.sqlite
      export GEOPLAN_GAZETTEER=xinchang.sqlite
      geoplan gaz add 回山镇 --category 1120 --parent 330624
      geoplan gaz search xc
    """


@gaz.command()
@db_option
def init(db):
    """Create an empty gazetteer (does nothing to an existing one).

    \b
    Example:
      geoplan gaz init --db xinchang.sqlite
    """
    url = db if db is not None else os.environ.get(gz.ENV_VAR)
    if gz.pg.is_url(url):
        with _open(db, create=True) as store:
            n = store.count()
        click.echo(i18n._("PostgreSQL gazetteer ready: {db} ({n} names)").format(db=store.path, n=n))
        return
    path = gz.default_path(db)
    existed = path.exists()
    with _open(db, create=True) as store:
        n = store.count()
    click.echo((i18n._("The gazetteer already exists: {db} ({n} names)") if existed
                else i18n._("Created the gazetteer: {db} ({n} names)")).format(db=path, n=n))


@gaz.command()
@click.argument("name")
@click.option("--category", "-c", required=True, help="Category code, e.g. 1120 township, 1220 village; provisional codes (暂定编码), see `gaz categories`.")
@click.option("--parent", "parent_code", help="Code of the administrative unit it lies in (6/9/12 digits).")
@click.option("--id", "name_id", help="Stable ID (default: generated, GZ00000001 …).")
@click.option("--specific", help="Specific part (专名), if not what precedes the generic part (通名).")
@click.option("--generic", help="Generic part (通名), if not recognised from the end of the name.")
@click.option("--wkt", "geometry", help="Geometry as WKT in CGCS2000 lon/lat, e.g. 'POINT (120.90 29.50)'.")
@click.option("--lon", type=float, help="Longitude of a point (with --lat).")
@click.option("--lat", type=float, help="Latitude of a point (with --lon).")
@click.option("--pron", "pron_override", help="Pronunciation override, one toneless syllable per character.")
@click.option("--valid-from", help="Date the name took effect (YYYY-MM-DD).")
@click.option("--origin", help="Origin of the name (来历): how it came about.")
@click.option("--meaning", help="Meaning of the name (含义): what it means.")
@click.option("--source", "sources", multiple=True, help="Source document (repeatable).")
@click.option("--force", is_flag=True, help="Record it even if it breaks a naming rule (give --why).")
@db_option
@rules_option
@who_options
@json_option
def add(name, category, parent_code, name_id, specific, generic, geometry, lon, lat, pron_override, valid_from,
        origin, meaning, sources, force, db, rules_file, who, why, as_json):
    """Add a standard name, checked against the naming rules.

    \b
    Example:
      geoplan gaz add 南岩村 -c 1220 --parent 330624104 --lon 120.95 --lat 29.38 \\
          --origin "村在南面岩下" --why "新昌县政府批复〔2024〕12号"
    """
    if (lon is None) != (lat is None):
        raise click.UsageError(i18n._("Give both --lon and --lat."))
    if lon is not None:
        if geometry:
            raise click.UsageError(i18n._("Give --wkt or --lon/--lat, not both."))
        geometry = f"POINT ({lon} {lat})"
    if force and not why:
        raise click.UsageError(i18n._("--force needs --why: the change log must say why a rule was set aside."))
    with _open(db, rules_file) as store:
        rec, report = store.add(name, category, parent_code, name_id=name_id, who=who, why=why, force=force,
                                specific=specific, generic=generic, geometry=geometry,
                                pron_override=pron_override, valid_from=valid_from, origin=origin,
                                meaning=meaning, sources=list(sources))
    if as_json:
        _out({"record": rec, "rule_notes": json.loads(report.to_json(orient="records", force_ascii=False))}, True)
        return
    click.echo(i18n._("Added {name} ({roman}) as {id}").format(name=rec["name"], roman=rec["roman"], id=rec["name_id"]))
    _report_warnings(report)


@gaz.command()
@click.argument("ref", metavar="NAME|ID")
@click.argument("new_name")
@click.option("--date", help="Day the new name takes effect (YYYY-MM-DD, default today).")
@click.option("--pron", "pron_override", help="Pronunciation override for the new name.")
@click.option("--force", is_flag=True, help="Rename even if it breaks a naming rule (give --why).")
@db_option
@rules_option
@who_options
@json_option
def rename(ref, new_name, date, pron_override, force, db, rules_file, who, why, as_json):
    """Rename a place; the old name is kept as a former name.

    \b
    Example:
      geoplan gaz rename 城南乡 城南镇 --date 2024-01-01 --why "浙政函〔2023〕88号"
    """
    if force and not why:
        raise click.UsageError(i18n._("--force needs --why."))
    with _open(db, rules_file) as store:
        rec, report = store.rename(ref, new_name, date=date, who=who, why=why, force=force,
                                   pron_override=pron_override)
    if as_json:
        return _out(rec, True)
    click.echo(i18n._("Renamed {old} → {name} ({roman}), ID {id}").format(
        old=rec["former_names"][-1]["name"], name=rec["name"], roman=rec["roman"], id=rec["name_id"]))
    _report_warnings(report)


@gaz.command()
@click.argument("ref", metavar="NAME|ID")
@click.option("--date", help="Last day + 1: the day it stops being valid (YYYY-MM-DD, default today).")
@db_option
@who_options
@json_option
def retire(ref, date, db, who, why, as_json):
    """Retire a standard name (it stays in the gazetteer with its history).

    \b
    Example:
      geoplan gaz retire 大市聚镇 --date 2019-01-01 --why "撤并"
    """
    with _open(db) as store:
        rec = store.retire(ref, date=date, who=who, why=why)
    _out(rec, as_json, i18n._("Retired {name} ({id}) from {date}").format(name=rec["name"], id=rec["name_id"],
                                                                         date=rec["valid_to"]))


@gaz.command()
@click.argument("refs", nargs=-1, required=True, metavar="NAME|ID...")
@click.option("--into", help="Existing place that absorbs the others.")
@click.option("--new-name", help="Or: name of a new place made of them.")
@click.option("--date", help="Day of the merger (YYYY-MM-DD, default today).")
@click.option("--force", is_flag=True, help="Merge even if the new name breaks a naming rule.")
@db_option
@rules_option
@who_options
@json_option
def merge(refs, into, new_name, date, force, db, rules_file, who, why, as_json):
    """Merge several places into one; the others become its former names.

    \b
    Example:
      geoplan gaz merge 大市聚镇 --into 澄潭街道 --date 2019-01-01 --why "撤镇并街"
      geoplan gaz merge 甲村 乙村 --new-name 甲乙村 --date 2020-06-01
    """
    with _open(db, rules_file) as store:
        rec = store.merge(list(refs), into=into, new_name=new_name, date=date, who=who, why=why, force=force)
    _out(rec, as_json, i18n._("Merged into {name} ({id}); former names: {former}").format(
        name=rec["name"], id=rec["name_id"], former="、".join(f["name"] for f in rec["former_names"])))


@gaz.command()
@click.argument("ref", metavar="NAME|ID")
@click.option("--into", "new_names", multiple=True, required=True, help="Name of a new place (repeat).")
@click.option("--date", help="Day of the split (YYYY-MM-DD, default today).")
@click.option("--keep", is_flag=True, help="Keep the original as one of the parts instead of retiring it.")
@click.option("--force", is_flag=True, help="Split even if a new name breaks a naming rule.")
@db_option
@rules_option
@who_options
@json_option
def split(ref, new_names, date, keep, force, db, rules_file, who, why, as_json):
    """Split a place into new ones (each records the old name as a former name).

    \b
    Example:
      geoplan gaz split 城关镇 --into 羽林街道 --into 南明街道 --date 2001-06-01
    """
    with _open(db, rules_file) as store:
        recs = store.split(ref, list(new_names), date=date, keep=keep, who=who, why=why, force=force)
    _out(recs, as_json, i18n._("Created {names}").format(names="、".join(f"{r['name']} ({r['name_id']})" for r in recs)))


@gaz.command()
@click.argument("ref", metavar="NAME|ID")
@click.argument("new_parent")
@click.option("--force", is_flag=True, help="Move even if the name clashes in the new parent.")
@db_option
@rules_option
@who_options
@json_option
def move(ref, new_parent, force, db, rules_file, who, why, as_json):
    """Put a place under a new parent administrative unit.

    \b
    Example:
      geoplan gaz move 南岩村 330624102 --why "区划调整"
    """
    with _open(db, rules_file) as store:
        rec, report = store.move(ref, new_parent, who=who, why=why, force=force)
    if as_json:
        return _out(rec, True)
    click.echo(i18n._("Moved {name} ({id}) under {parent}").format(name=rec["name"], id=rec["name_id"],
                                                                  parent=rec["parent_code"]))
    _report_warnings(report)


@gaz.command()
@click.argument("ref", metavar="NAME|ID")
@db_option
@json_option
def show(ref, db, as_json):
    """Show every field of one place name.

    \b
    Example:
      geoplan gaz show 回山镇
    """
    with _open(db) as store:
        rec = store.resolve(ref)
    _out(rec, as_json, _table(_record_view(rec)))


_SEARCH_COLUMNS = ["name_id", "name", "roman", "category", "parent_code", "status", "match", "score"]


@gaz.command()
@click.argument("query")
@click.option("--category", "-c", multiple=True, help="Only this category code (repeatable).")
@click.option("--parent", help="Only under this division code (prefix, e.g. 330624).")
@click.option("--as-of", help="Names valid on this day (YYYY-MM-DD), under the name they had then.")
@click.option("--retired", is_flag=True, help="Include retired names.")
@click.option("--limit", default=10, show_default=True, help="Number of results.")
@db_option
@json_option
def search(query, category, parent, as_of, retired, limit, db, as_json):
    """Find names: exact, prefix, fuzzy, toneless pinyin, initials or former name.

    \b
    Examples:
      geoplan gaz search 新昌
      geoplan gaz search xc              (initials)
      geoplan gaz search huishan -c 1120 (pinyin, townships only)
      geoplan gaz search 回三镇           (typo-tolerant)
    """
    with _open(db) as store:
        if as_of:
            df = store.frame(as_of=as_of)
            index = gz.SearchIndex(df["name_id"], df["name"], df["pinyin_key"], df["initials"], df["category"],
                                   df["parent_code"], df["status"], df["former_names"])
            table = df
        else:
            # Kept on disk between calls and rebuilt only when the database changed.
            index = gz.SearchIndex.cached(store)
            table = None
        rows = []
        # Plain tuples and a table printed without pandas: a warm search never imports it (issue 17).
        for i, name_id, name, how, score in index.matches(query, limit=limit, category=list(category) or None,
                                                          parent=parent, include_retired=retired):
            rec = store._row(name_id) if table is None else table.iloc[i].to_dict()
            rows.append({"name_id": name_id, "name": name, "roman": rec["roman"], "category": rec["category"],
                         "parent_code": rec["parent_code"], "status": rec["status"], "match": how, "score": score})
    gaz_table.echo_rows(rows, _SEARCH_COLUMNS, as_json)


@gaz.command("list")
@click.option("--category", "-c", multiple=True, help="Only this category code (repeatable).")
@click.option("--parent", help="Only under this division code (prefix).")
@click.option("--as-of", help="Names valid on this day (YYYY-MM-DD).")
@click.option("--retired", is_flag=True, help="Include retired names.")
@db_option
@json_option
def list_cmd(category, parent, as_of, retired, db, as_json):
    """List names (current, or valid at a date).

    \b
    Example:
      geoplan gaz list -c 1120 --as-of 2018-12-31
    """
    with _open(db) as store:
        df = store.frame(as_of=as_of, include_retired=retired, category=list(category) or None, parent=parent)
    cols = ["name_id", "name", "roman", "category", "parent_code", "status", "valid_from", "valid_to"]
    _out(df[cols], as_json)


@gaz.command()
@click.argument("ref", metavar="NAME|ID")
@db_option
@json_option
def history(ref, db, as_json):
    """The change log of one place: what, before → after, when, who, why.

    \b
    Example:
      geoplan gaz history 澄潭街道
    """
    with _open(db) as store:
        df = store.history(ref)
    # The logged summary is English text written at the time; "operation" and "what changed" say it in
    # the reader's language (_out shows a table through labels.for_reading).
    _out(df if as_json else df.drop(columns=["summary"]), as_json)


@gaz.command()
@click.argument("change_id", type=int, metavar="CHANGE")
@db_option
@who_options
@json_option
def revert(change_id, db, who, why, as_json):
    """Undo a change by writing a new change (the log keeps both).

    \b
    Example:
      geoplan gaz revert 17 --why "批复撤回"
    """
    with _open(db) as store:
        new = store.revert(change_id, who=who, why=why)
    _out({"reverted": change_id, "change": new}, as_json,
         i18n._("Undid change {change} (new change {new})").format(change=change_id, new=new))


@gaz.command()
@click.option("--as-of", help="Check the names valid on this day instead of today.")
@click.option("--out", "out_path", type=PathArg(path_type=Path),
              help="Also write the full report (CSV or XLSX).")
@click.option("--errors-only", is_flag=True, help="Show errors, not warnings.")
@click.option("--overwrite", is_flag=True, help="Replace the --out file if it exists.")
@db_option
@rules_option
@json_option
def validate(as_of, out_path, errors_only, overwrite, db, rules_file, as_json):
    """Check every name of the gazetteer against the naming rules; exit 1 if any error.

    \b
    Example:
      geoplan gaz validate --out 地名规则检查.csv
    """
    if out_path is not None:
        output.check_target(out_path, overwrite=overwrite)  # refuse before the work
    with _open(db, rules_file) as store:
        report = naming.validate_all(store, store.config, as_of=as_of)
        n = store.count()
    if errors_only:
        report = report[report["severity"] == "error"]
    if out_path is not None:
        # a file for people: headers and severities in their language (--json keeps the English keys)
        output.write_table(naming.for_people(report), out_path, overwrite=overwrite,
                           sheet_name=i18n._("naming-rule check"))
    if as_json:
        _out(report, True)
    else:
        click.echo(i18n._("Checked {n} names: {errors} error(s), {warnings} warning(s)").format(
            n=n, errors=int((report["severity"] == "error").sum()),
            warnings=int((report["severity"] == "warning").sum())) + "\n")
        if not report.empty:
            click.echo(_table(naming.for_people(naming.summary(report))) + "\n")
            click.echo(_table(naming.for_people(report.drop(columns=["related_ids"]).head(200))))
            if len(report) > 200:
                click.echo(i18n._("… {n} more in the full report (--out FILE)").format(n=len(report) - 200))
        if out_path is not None:
            click.echo("\n" + i18n._("Wrote {path}").format(path=out_path))
    if (report["severity"] == "error").any():
        sys.exit(1)


@gaz.command("romanize")
@click.argument("text", metavar="NAME|ID")
@click.option("--set", "pron", help="Store a pronunciation override for this record ('' to clear).")
@click.option("--text", "free", is_flag=True, help="Spell the text itself, not a gazetteer record.")
@db_option
@who_options
@json_option
def romanize_cmd(text, pron, free, db, who, why, as_json):
    """Spell a name in Hanyu Pinyin by the place-name rules, specific part (专名) and generic part (通名) apart.

    \b
    Examples:
      geoplan gaz romanize --text 六安市        → Lu'an Shi
      geoplan gaz romanize 某某村 --set "mou mou cun" --why "本地读音"
    """
    if not free and pron is None:
        # A name that is not (yet) in the gazetteer is spelled as text: the
        # committee checks a proposed name before it is added.
        if not _db_exists(db):
            free = True
        else:
            try:
                with _open(db) as store:
                    store.resolve(text)
            except gz.NameNotFoundError:
                free = True
    if free:
        sp, gen = romanize.split_name(text)
        result = {"name": text, "roman": romanize.romanize(text), "pinyin": " ".join(romanize.syllables(text)),
                  "specific": sp, "generic": gen}
        return _out(result, as_json, f"{text}: {result['roman']}")
    with _open(db) as store:
        rec = store.resolve(text)
        if pron is not None:
            rec = store.edit(rec["name_id"], pron_override=pron or None, who=who, why=why, op="pronunciation")
    result = {"name_id": rec["name_id"], "name": rec["name"], "roman": rec["roman"],
              "pinyin": " ".join(romanize.syllables(rec["name"], rec["pron_override"])),
              "override": rec["pron_override"]}
    _out(result, as_json, f"{rec['name']} ({rec['name_id']}): {rec['roman']}"
         + ("  [" + i18n._("pronunciation override: {pron}").format(pron=rec["pron_override"]) + "]"
            if rec["pron_override"] else ""))


# import/export, copy and the heritage list, and the rule and category tables, live in their own modules;
# loading them registers their commands
from geoplan.cli import gaz_rules, gaz_transfer  # noqa: E402,F401


if __name__ == "__main__":  # pragma: no cover
    # run the imported module's group: the one gaz_transfer registered its commands on
    from geoplan.cli.gaz import gaz as registered

    registered(prog_name="geoplan gaz")
