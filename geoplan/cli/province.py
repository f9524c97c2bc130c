"""``geoplan province``: every county of a province in one run, on Dask, into one report and one map."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from geoplan.cli.util import PathArg, TranslatedCommand
from geoplan.errors import GeoplanError
from geoplan.i18n import _, ngettext

#: Province names accepted by ``--sample`` → 2-digit province code.
SAMPLE_PROVINCES = {"zhejiang": "33"}


def build_missing_samples(codes, folder: Path, client=None) -> dict[str, str]:
    """Build sample layer sets for ``codes`` into ``folder`` with the sample builder, as Dask tasks if a client is given.

    Returns
    -------
    dict of str to str
        Counties that could not be built, with the reason (they are then reported as not run).

    Raises
    ------
    GeoplanError
        When the builder (``geoplan.layers.samplebuild``) is not part of this geoplan.
    """
    try:
        from geoplan.layers.samplebuild import build_county
    except ImportError:
        raise GeoplanError(_(
            "{n} of the province's counties have no layers, and this version of geoplan cannot build "
            "sample layers (the sample builder, geoplan.layers.samplebuild, is not installed). Run on the "
            "counties that have layers by giving their codes, or put each county's layers in a folder as "
            "<code>.gpkg and <code>_population.tif and give it with --layers.").format(n=len(codes))
        ) from None
    folder.mkdir(parents=True, exist_ok=True)
    failures: dict[str, str] = {}
    if client is None:
        for code in codes:
            try:
                build_county(code, folder)
            except GeoplanError as exc:
                failures[code] = _("Sample layers could not be built: {error}").format(error=exc)
        return failures
    futures = client.map(build_county, list(codes), out=str(folder), key=[f"build-{c}" for c in codes])
    for code, f in zip(codes, futures):
        try:
            f.result()
        except Exception as exc:  # noqa: BLE001 — one county that cannot be built is reported, the others run
            failures[code] = _("Sample layers could not be built: {error}").format(error=exc)
    return failures


@click.command("province", cls=TranslatedCommand)
@click.argument("codes", nargs=-1)
@click.option("--layers", "layer_dirs", multiple=True, type=PathArg(file_okay=False, path_type=Path),
              help="Folder of county layer sets (<code>.gpkg, <code>_population.tif), as layers/; repeatable. "
                   "Default: the sample layers folder.")
@click.option("--plans", "plans_dir", type=PathArg(file_okay=False, path_type=Path),
              help="Folder of the counties' own plans (<code>_*.toml or <code>.toml).")
@click.option("--plan-template", "template", type=PathArg(dir_okay=False, path_type=Path),
              help="Plan template for every county without its own plan ([plan] county = \"*\").")
@click.option("--sample", "sample", type=click.Choice(sorted(SAMPLE_PROVINCES)),
              help="Run a whole sample province: its counties from the official list, the shipped plans "
                   "and the built-in template; missing counties' sample layers are built first.")
@click.option("--year", type=int, help="Year to evaluate (default: each plan's own year).")
@click.option("--travel/--no-travel", default=True, show_default=True, help="Evaluate travel-time rules.")
@click.option("--indicator", default="failed", show_default=True,
              help="Colour townships on the map by: failed (number of failing rules), within (% of people "
                   "within the travel-time limit), beyond (people beyond it), or a rule id (e.g. home_care_centre).")
@click.option("--out", "out_dir", type=PathArg(file_okay=False, path_type=Path), default=Path("province"),
              show_default=True, help="Folder for the report and the map.")
@click.option("--name", "stem", default="province", show_default=True, help="Start of the output file names.")
@click.option("--overwrite", is_flag=True, help="Replace report files that already exist.")
@click.option("--cache", "cache_dir", type=PathArg(file_okay=False, path_type=Path),
              help="Per-county result cache (default: OUT/.cache). A re-run computes only what is missing or failed.")
@click.option("--no-cache", is_flag=True, help="Compute every county and keep nothing.")
@click.option("--scheduler", help="Use a running Dask cluster, e.g. tcp://10.0.0.5:8786 (its workers need geoplan "
                                  "and the layer files at the same paths).")
@click.option("--workers", type=click.IntRange(min=1), help="Local workers (default: the machine's cores).")
@click.option("--memory-limit", default="auto", show_default=True,
              help="Memory per local worker, e.g. 4GB (auto: the machine's memory shared out).")
@click.option("--serial", is_flag=True, help="Run in this process without Dask (for debugging).")
@click.option("--title", help="Title of the report and the map.")
def province(codes, layer_dirs, plans_dir, template, sample, year, travel, indicator, out_dir, stem, overwrite,
             cache_dir, no_cache, scheduler, workers, memory_limit, serial, title):
    """Evaluate every county of a province on Dask: one report (XLSX, CSV) and one map.

    Each county's layers are validated, its people routed by road and its own
    plan evaluated, as one Dask task; a county that fails is reported with its
    reason and the others finish. Results are cached per county, so running
    the same command again computes only the counties that are missing or
    failed.

    \b
    Examples:
      geoplan province --sample zhejiang --out 浙江省
      geoplan province --layers 各县图层 --plans 各县规划 --plan-template 模板.toml --out 全省2025
      geoplan province 330624 330727 --plans plans --workers 2 --memory-limit 2GB
      geoplan province --layers /shared/counties --plan-template t.toml --scheduler tcp://10.0.0.5:8786
    """
    from geoplan.layers.sample import layers_dir
    from geoplan.maps.html import save_map
    from geoplan.province.inputs import SAMPLE_TEMPLATE, county_inputs, layer_sets, province_counties
    from geoplan.province.map import province_map
    from geoplan.province.report import check_free, output_paths, province_tables, sheet, write_csvs, write_xlsx
    from geoplan.province.runner import dask_client, run_province

    if memory_limit not in (None, "", "auto"):
        from dask.utils import parse_bytes

        try:
            parse_bytes(memory_limit)
        except (ValueError, TypeError):
            raise click.BadParameter(_("{value} is not an amount of memory; write e.g. 4GB or 1500MB.").format(
                value=repr(memory_limit)), param_hint="--memory-limit") from None
    paths = output_paths(out_dir, stem)
    check_free(paths.values(), overwrite)  # before any work: a run that cannot write its report is not started
    folders = list(layer_dirs) or [layers_dir()]
    missing: list[str] = []
    if sample:
        if not codes:
            codes = tuple(province_counties(SAMPLE_PROVINCES[sample]))
        if plans_dir is None:
            shipped = Path(__file__).resolve().parents[2] / "plans"
            plans_dir = shipped if shipped.is_dir() else None
        template = template or SAMPLE_TEMPLATE
        built_dir = out_dir / "layers"  # built counties go under the output folder, never into the shipped layers/
        if built_dir.is_dir() and built_dir not in folders:
            folders.append(built_dir)
        have = layer_sets(folders)
        missing = [c for c in codes if c not in have]
        try:
            import geoplan.layers.samplebuild  # noqa: F401
        except ImportError:
            if missing:
                click.echo(_("Note: {missing} counties have no layers and this geoplan cannot build sample layers "
                             "(geoplan.layers.samplebuild is not installed). Running the {have} counties that have "
                             "layers; the others are listed as not run.").format(
                    missing=len(missing), have=len(codes) - len(missing)), err=True)
                missing = []
        else:
            if missing and built_dir not in folders:
                folders.append(built_dir)
    if not codes and plans_dir is None and template is None:
        raise click.UsageError(_("Give the plans: --plans DIR (each county's own) and/or --plan-template FILE."))
    cache = None if no_cache else (cache_dir or out_dir / ".cache")

    from tqdm import tqdm

    def evaluate_all(client):
        build_failed = {}
        if missing:
            click.echo(_("Building the sample layers of {n} counties in {folder} …").format(
                n=len(missing), folder=built_dir), err=True)
            build_failed = build_missing_samples(missing, built_dir, client)
        todo, skipped = county_inputs(folders, codes=codes or None, plans_dir=plans_dir, template=template,
                                      year=year, travel=travel)
        skipped = [(c, build_failed.get(c, r)) for c, r in skipped]
        if not todo:
            raise GeoplanError(_("No county can be run: {reasons}").format(
                reasons="; ".join(f"{c}: {r}" for c, r in skipped[:5])))
        bar = tqdm(total=len(todo), unit=_("county"), desc=_("Counties evaluated"), file=sys.stderr,
                   dynamic_ncols=True)

        def progress(result, done, total):
            bar.update(1)
            bar.set_postfix_str(result.name, refresh=False)
            if not result.ok:
                bar.write(_("  failed {code} {name}: {reason}").format(
                    code=result.label, name=result.name, reason=result.reason.splitlines()[0][:200]), file=sys.stderr)

        with bar:
            if client is not None:
                n = len(client.scheduler_info().get("workers", {}))
                text = ngettext("Dask: {n} worker", "Dask: {n} workers", n).format(n=n)
                if client.dashboard_link:
                    text += _("; dashboard {link}").format(link=client.dashboard_link)
                bar.write(text, file=sys.stderr)
            return run_province(todo, client=client, cache_dir=cache, on_result=progress, skipped=skipped)

    if serial:
        run = evaluate_all(None)
    else:
        with dask_client(scheduler, workers=workers, memory_limit=memory_limit) as client:
            run = evaluate_all(client)

    if not run.ok:  # nothing to report on: say why, write nothing
        reasons = [f"  {r.label} {r.name}: {r.reason.splitlines()[0][:300]}" for r in run.failed]
        reasons += [f"  {c}: {reason}" for c, reason in run.skipped[:10]]
        raise GeoplanError(_("No county finished; nothing was written:") + "\n" + "\n".join(reasons[:20]))
    tables = province_tables(run.results, run.skipped)
    years = sorted({r.evaluation.year for r in run.ok})
    if not title:
        where = _("Zhejiang") if sample else _("Province")
        title = (_("{where}: civil-affairs facility plan evaluation ({year})").format(where=where, year=years[-1])
                 if len(years) == 1 else
                 _("{where}: civil-affairs facility plan evaluation").format(where=where))
    notes = [_("Counties: {n}; finished {ok}, not finished {failed}; {computed} computed in this run, the rest "
               "from the cache.").format(n=len(run.results) + len(run.skipped), ok=len(run.ok),
                                         failed=len(run.failed) + len(run.skipped), computed=len(run.computed))]
    if sample:
        notes.append(_("Sample data: county outlines, township names and codes are real; township extents, "
                       "population, roads and facilities are illustrative, for demonstration only."))
    written = [write_xlsx(tables, paths["xlsx"], title=title, notes=notes, overwrite=overwrite)]
    written += write_csvs(tables, paths, overwrite=overwrite)
    if run.ok:
        m = province_map(run.results, tables, indicator=indicator, title=title,
                         data_date=_("evaluated for {year}").format(year=years[-1]) if len(years) == 1
                         else _("each county evaluated for its own plan year ({years})").format(
                             years=_(", ").join(map(str, years))))
        tmp = paths["map"].with_name(f".{paths['map'].stem}.part.html")
        save_map(m, tmp)
        from geoplan.province.report import publish

        written.append(publish(tmp, paths["map"], overwrite))
    click.echo(ngettext("{n} county done ({computed} computed now, {cached} from the cache) in {seconds:.1f} s.",
                        "{n} counties done ({computed} computed now, {cached} from the cache) in {seconds:.1f} s.",
                        len(run.ok)).format(n=len(run.ok), computed=len(run.computed),
                                            cached=len([r for r in run.ok if r.cached]), seconds=run.seconds))
    click.echo(_("Wrote:"))
    for p in written:
        click.echo(f"  {p}")
    bad = run.failed + [None] * len(run.skipped)
    if bad:
        lines = [f"  {r.label} {r.name}: {r.reason.splitlines()[0][:300]}" for r in run.failed]
        lines += [f"  {c}: {reason}" for c, reason in run.skipped[:10]]
        raise GeoplanError(
            ngettext("{n} county did not finish (listed in the report's “{sheet}” sheet):",
                     "{n} counties did not finish (listed in the report's “{sheet}” sheet):", len(bad)).format(
                n=len(bad), sheet=sheet("failed"))
            + "\n" + "\n".join(lines[:20]) + "\n"
            + _("Fix them and run the same command again with --overwrite: only these counties are computed."))
