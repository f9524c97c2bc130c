"""``geoplan gaz`` commands that move names in and out: import, export, copy between databases, and the
place-name heritage list. They register on the :func:`geoplan.cli.gaz.gaz` group when that module loads."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from geoplan import i18n, output
from geoplan.cli.gaz import _GazGroup, _open, _out, _table, db_option, gaz, json_option, rules_option, who_options
from geoplan.cli.util import PathArg, workspace_option
from geoplan.gazetteer import store as gz
from geoplan.gazetteer.lazy_pandas import pd


@gaz.group(cls=_GazGroup)
def heritage():
    """The place-name cultural heritage list (地名文化遗产保护名录).

    \b
    Example:
      geoplan gaz heritage add 儒岙镇 --level 省级 --year 2016
    """


@heritage.command("add")
@click.argument("ref", metavar="NAME|ID")
@click.option("--level", required=True, type=click.Choice(gz.HERITAGE_LEVELS), help="Listing level.")
@click.option("--year", required=True, type=int, help="Year of listing.")
@db_option
@who_options
def heritage_add(ref, level, year, db, who, why):
    """List a name as place-name cultural heritage.

    \b
    Example:
      geoplan gaz heritage add 沃洲镇 --level 市级 --year 2018
    """
    with _open(db) as store:
        rec = store.set_heritage(ref, level, year, who=who, why=why)
    click.echo(i18n._("Listed {name} ({id}) as place-name heritage: {level}, {year}").format(
        name=rec["name"], id=rec["name_id"], level=level, year=year))


@heritage.command("list")
@db_option
@json_option
def heritage_list(db, as_json):
    """List the names on the heritage list.

    \b
    Example:
      geoplan gaz heritage list --json
    """
    with _open(db) as store:
        df = store.frame()
    df = df[df["heritage_level"].notna()][["name_id", "name", "roman", "heritage_level", "heritage_year", "origin"]]
    _out(df, as_json)


@heritage.command("remove")
@click.argument("ref", metavar="NAME|ID")
@db_option
@who_options
def heritage_remove(ref, db, who, why):
    """Take a name off the heritage list.

    \b
    Example:
      geoplan gaz heritage remove 沃洲镇 --why "误录"
    """
    with _open(db) as store:
        rec = store.set_heritage(ref, None, None, who=who, why=why)
    click.echo(i18n._("Took {name} ({id}) off the heritage list").format(name=rec["name"], id=rec["name_id"]))


@gaz.command("import")
@click.argument("path", type=PathArg(path_type=Path))
@click.option("--map", "maps", multiple=True, metavar="FIELD=COLUMN",
              help="Gazetteer field = column of the file (repeat), e.g. --map name_id=code.")
@click.option("--layer", help="GeoPackage layer or XLSX sheet.")
@click.option("--encoding", help="Text encoding of a CSV if detection fails (e.g. GBK).")
@click.option("--category", help="Category code for rows without one.")
@click.option("--category-from-code", metavar="COLUMN",
              help="Derive the category from official codes in COLUMN: 9-digit townships (001–399 → 1120, "
                   "400–599 → 1190), 12-digit villages (001–199 → 1210 community (社区), 200–399 → 1220 village (村)).")
@click.option("--gcj02", is_flag=True, help="Coordinates were picked on a Chinese web map (GCJ-02): convert to CGCS2000.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --report file.")
@click.option("--date", help="Effective date of renames in the file (default today).")
@click.option("--dry-run", is_flag=True, help="Only report what would change.")
@click.option("--report", "report_path", type=PathArg(path_type=Path),
              help="Where to write the rejected rows (default: <file>_rejected.csv next to the input).")
@click.option("--force", is_flag=True, help="Accept rows that break naming rules (bad values are still rejected).")
@click.option("--progress/--no-progress", "show_progress", default=None,
              help="Show a progress bar on stderr (default: only when stderr is a terminal).")
@db_option
@rules_option
@who_options
@json_option
def import_cmd(path, maps, layer, encoding, category, category_from_code, gcj02, overwrite, date, dry_run,
               report_path, force, show_progress, db, rules_file, who, why, as_json):
    """Import names from CSV, XLSX, GeoJSON or GeoPackage in one transaction.

    Rows with an existing ID update that record; others are added. Rows
    with bad values or breaking a naming rule are rejected into a report;
    the accepted rows are written together or not at all.

    \b
    Example:
      geoplan gaz import streets.csv --map name_id=code --map parent_code=areaCode \\
          --category-from-code code --dry-run
    """
    mapping = {}
    for m in maps:
        if "=" not in m:
            raise click.UsageError(i18n._("--map {value!r}: write FIELD=COLUMN, e.g. name_id=code.").format(value=m))
        k, v = m.split("=", 1)
        mapping[k.strip()] = v.strip()
    if report_path is not None:
        output.check_target(report_path, overwrite=overwrite)  # refuse before the work
    with _open(db, rules_file) as store:
        df, labels = gz.read_import_table(path, mapping, layer=layer, encoding=encoding, category=category,
                                          category_from_code=category_from_code, gcj02=gcj02)
        with _progress(len(df), i18n._("checking"), show_progress) as tick:
            plan = store.plan_import(df, labels, str(path), date=date, force=force, progress=tick)
        rejected = plan.rejected_frame()
        if not rejected.empty and report_path is None:
            # The default report never replaces a file: the next free name, said in the output.
            report_path = _free_name(path.with_name(f"{path.stem}_rejected.csv"))
        if not rejected.empty:
            # Written before the import commits: a report that cannot be written stops the import.
            output.write_table(rejected, report_path, overwrite=overwrite, sheet_name="未导入的行")
        change = None
        if not dry_run:
            with _progress(len(plan.items), i18n._("writing"), show_progress) as tick:
                change = store.apply_import(plan, who=who, why=why, progress=tick)
    summary = {"file": str(path), "dry_run": dry_run, "added": plan.added, "updated": plan.updated,
               "unchanged": plan.unchanged, "rejected": len(rejected), "warnings": len(plan.warnings),
               "change": change, "report": None if rejected.empty else str(report_path)}
    if as_json:
        _out(summary, True)
        return _import_exit(plan, rejected, report_path)
    counts = dict(added=plan.added, updated=plan.updated, unchanged=plan.unchanged, rejected=len(rejected))
    if dry_run:
        click.echo(i18n._("Dry run, nothing written: would add {added}, update {updated}, leave {unchanged} "
                          "unchanged, reject {rejected} row(s)").format(**counts))
    else:
        click.echo(i18n._("Added {added}, updated {updated}, unchanged {unchanged}, rejected {rejected} row(s)")
                   .format(**counts) + ("" if change is None else i18n._(" (change {change})").format(change=change)))
    if dry_run and plan.items:
        click.echo(_table(plan.changes_frame().head(30)))
        if len(plan.items) > 30:
            click.echo(i18n._("… and {n} more").format(n=len(plan.items) - 30))
    if not rejected.empty:
        click.echo("\n" + i18n._("Rejected rows (every reason is in {path}):").format(path=report_path))
        click.echo(_table(rejected.head(20)))
    if len(plan.warnings):
        click.echo("\n" + i18n._("{n} naming-rule warning(s): `geoplan gaz validate` lists them.").format(
            n=len(plan.warnings)))
    _import_exit(plan, rejected, report_path)


@gaz.command("export")
@click.argument("path", type=PathArg(path_type=Path))
@click.option("--as-of", help="Names valid on this day.")
@click.option("--retired", is_flag=True, help="Include retired names.")
@click.option("--overwrite", is_flag=True, help="Replace PATH if it exists (else it is refused).")
@db_option
def export_cmd(path, as_of, retired, overwrite, db):
    """Export the gazetteer to CSV, XLSX, GeoJSON or GeoPackage (by extension).

    \b
    Example:
      geoplan gaz export 地名库.gpkg
    """
    with _open(db) as store:
        out = gz.export(store, path, as_of=as_of, include_retired=retired, overwrite=overwrite)
    click.echo(i18n._("Wrote {path}").format(path=out))


@gaz.command("copy")
@click.argument("source")
@click.argument("target")
def copy_cmd(source, target):
    """Copy a whole gazetteer with its history: SQLite file ⇄ postgresql://… (either way).

    The target must be new or an empty gazetteer; the source is only read.

    \b
    Example:
      geoplan gaz copy xinchang.sqlite postgresql://clerk@gis.example/gazetteer
      geoplan gaz copy postgresql://clerk@gis.example/gazetteer backup.sqlite
    """
    # plain text arguments: a click Path would fold the URL's "//"
    copied = gz.copy_gazetteer(source, target)
    try:
        names = copied.count()
    finally:
        copied.close()
    click.echo(i18n._("Copied {names} names with their history to {target}.").format(names=names, target=target))


@gaz.command("seed")
@db_option
@click.option("--county", default="330624", show_default=True, help="Sample county code.")
@click.option("--layers", "gpkg", type=PathArg(exists=True, dir_okay=False, path_type=Path),
              help="County GeoPackage with layers named by kind. Default: the sample county.")
@workspace_option
def seed_cmd(db, county, gpkg, workspace_dir):
    """Start a new gazetteer from a county's layers: its place names, else its townships and villages.

    The gazetteer must be new (an existing file or a PostgreSQL gazetteer with names is refused, unchanged).

    \b
    Example:
      geoplan gaz seed --workspace 新昌工作区 --db xinchang.sqlite
    """
    from geoplan.gazetteer import pg
    from geoplan.gazetteer.transfer import seed_from_county
    from geoplan.layers.sample import sample_paths
    from geoplan.layers.workspace import require_manifest, workspace_paths

    if workspace_dir is not None:
        if gpkg is not None:
            raise click.UsageError(i18n._("--workspace already holds the layers and population: "
                                          "leave out --layers/--population."))
        source = workspace_paths(workspace_dir, require_manifest(workspace_dir)["county"])["gpkg"]
    else:
        source = gpkg if gpkg is not None else sample_paths(county)[0]
    target = db if db is not None else str(gz.default_path(None))
    if not pg.is_url(target) and Path(target).exists():
        raise output.OutputExistsError(i18n._("{path} already exists, nothing changed: seeding makes a new "
                                              "gazetteer. Name a new file with --db.").format(path=target))
    store, rejected = seed_from_county(target, source, replace=False)
    try:
        n = store.count()
    finally:
        store.close()
    click.echo(i18n._("Seeded {names} names from {source} into {target}.").format(names=n, source=source,
                                                                                    target=target))
    if len(rejected):
        click.echo(_table(rejected))


class _progress:
    """A progress bar on stderr for an import's checking and writing; stdout and ``--json`` stay as they are.

    ``show``: True (``--progress``) always, False (``--no-progress``) never,
    None only when stderr is a terminal and the table is long enough to wait
    for (not in a pipe, a log file or a test).
    """

    def __init__(self, total: int, what: str, show: bool | None = None):
        self.bar = None
        if show or (show is None and total >= 20_000 and sys.stderr.isatty()):
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=what, unit=i18n._("rows"), file=sys.stderr, leave=False,
                            mininterval=0.5)
        self.done = 0

    def __enter__(self):
        return self.tick

    def tick(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n - self.done)
            self.done = n

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()


def _free_name(path: Path) -> Path:
    """``path``, or ``stem-2.csv``, ``stem-3.csv`` … whichever does not exist yet."""
    k = 2
    out = path
    while out.exists():
        out = path.with_name(f"{path.stem}-{k}{path.suffix}")
        k += 1
    return out


def _import_exit(plan, rejected: pd.DataFrame, report_path) -> None:
    """Exit 1 when the import did none of what was asked: every row refused (or no row at all)."""
    if not plan.items and plan.unchanged == 0:
        click.echo(i18n._("Error: {message}").format(message=i18n._(
            "no name was imported: all {n} rows were rejected (the reasons are in {report}). The gazetteer was not "
            "changed.").format(n=len(rejected), report=report_path)), err=True)
        sys.exit(1)
