"""``geoplan inspect``: plan boundary-marker inspections, print maps and forms, import results.

Register with ``main.add_command(inspect)`` in :mod:`geoplan.cli.main`; errors
are :class:`geoplan.errors.GeoplanError` subclasses, which the main group
prints without a traceback.
"""

from __future__ import annotations

from pathlib import Path

import click

from geoplan.cli.util import ErrorGroup, PathArg, load_county_from, workspace_county, workspace_option
from geoplan.errors import GeoplanError
from geoplan.i18n import _
from geoplan.output import OVERWRITE_HELP, atomic_target, check_targets, refuse_inputs


def _overwrite(f):
    return click.option("--overwrite", is_flag=True, help=OVERWRITE_HELP)(f)


def _overwrite_files(f):  # commands writing several files into a folder
    return click.option("--overwrite", is_flag=True, help="Replace report files that already exist.")(f)


def _folder(path) -> Path:
    """The output folder the user named (created if missing; a file there is refused by the writers)."""
    p = Path(path)
    if not p.is_dir() and not p.exists():
        p.mkdir(parents=True)
    return p


def _bar(label, total):
    return click.progressbar(length=total, label=label, show_pos=True)


def _stage_printer(bar):
    def say(stage):
        bar.label = f"{stage:<22}"
        bar.update(1)
    return say


def _default_plan_folder(workspace_dir) -> Path:
    """Where ``inspect plan`` writes without --out: a workspace's ``inspection`` folder, else ``maps``."""
    return Path(workspace_dir) / "inspection" if workspace_dir is not None else Path("maps")


def _plan_path(plan, workspace_dir) -> Path:
    """The PLAN argument, or with --workspace and no PLAN the plan ``inspect plan --workspace`` wrote.

    A plan given together with --workspace must be of the workspace's county.
    """
    from geoplan.inspection.planning import InspectionResult

    if plan is None and workspace_dir is None:
        raise click.UsageError(_("Name the plan file (PLAN), or give --workspace DIR to use the plan of "
                                 "`geoplan inspect plan --workspace DIR`."))
    if plan is not None and workspace_dir is None:
        return Path(plan)
    code = workspace_county(workspace_dir)
    p = Path(plan) if plan is not None else _default_plan_folder(workspace_dir) / f"{code}_inspection_plan.gpkg"
    if plan is None and not p.exists():
        raise GeoplanError(_("The workspace {folder} has no inspection plan yet ({path}): make one with "
                             "`geoplan inspect plan --workspace {folder}`.").format(folder=workspace_dir, path=p))
    got = str(InspectionResult.load(p).params.get("county", ""))
    if got != code:
        raise GeoplanError(_("The plan {path} is for county {got}, but the workspace {folder} holds county {code}: "
                             "give a plan of this county or the other county's workspace.").format(
            path=p, got=got or "?", folder=workspace_dir, code=code))
    return p


def _plan_arg(f):
    """PLAN (optional with --workspace) and --workspace, for the commands that read a plan."""
    f = workspace_option(f)
    return click.argument("plan", required=False, type=PathArg(dir_okay=False))(f)


@click.group("inspect", cls=ErrorGroup)
def inspect():
    """Joint inspection of boundary markers (界线联合检查): plan, atlas, forms, import."""


@inspect.command("programme")
@click.option("--county", default="330624", show_default=True, help="Sample county code.")
@click.option("--start-year", default=None, type=int, help="First year (default: this year).")
@click.option("--years", default=5, show_default=True, type=click.IntRange(1, 10))
@click.option("--hours", default=8.0, show_default=True, type=float, help="Working day in hours.")
@click.option("--out", default="maps", show_default=True, type=PathArg(file_okay=False))
@_overwrite_files
def programme_cmd(county, start_year, years, hours, out, overwrite):
    """Five-year programme: every line of the county in one year, even team-days per year."""
    import datetime as dt

    from geoplan.inspection.parties import division_names
    from geoplan.inspection.programme import line_programme, programme_summary
    from geoplan.inspection.report import write_programme_xlsx
    from geoplan.layers.sample import load_sample

    outdir = _folder(out)
    target = outdir / f"{county}_inspection_programme.xlsx"
    check_targets([target], overwrite=overwrite)  # refuse before the work
    c = load_sample(county)
    start = start_year or dt.date.today().year
    prog = line_programme(c["boundary_lines"], c["boundary_markers"], county_code=c.code, start_year=start,
                          years=years, areas=division_names(c), workday_hours=hours)
    xlsx = write_programme_xlsx(prog, target, overwrite=overwrite,
                                title=_("{county} joint boundary inspection programme ({first}–{last})").format(
                                    county=c.name or county, first=start, last=start + years - 1))
    for r in programme_summary(prog).itertuples():
        click.echo(_("{year}: {lines} lines, {markers} markers, about {team_days} team-days").format(
            year=r.year, lines=r.lines, markers=r.markers, team_days=r.team_days))
    click.echo(_("Wrote {path}").format(path=xlsx))


@inspect.command("plan")
@click.option("--county", default="330624", show_default=True, help="Sample county code.")
@click.option("--layers", "gpkg", type=PathArg(exists=True, dir_okay=False, path_type=Path),
              help="County GeoPackage with layers named by kind. Default: the sample county.")
@workspace_option
@click.option("--teams", default=2, show_default=True, type=click.IntRange(1, 50))
@click.option("--hours", default=8.0, show_default=True, type=float, help="Working day in hours.")
@click.option("--time-limit", default=10.0, show_default=True, type=float, help="Solver seconds.")
@click.option("--as-of", default=None, help="Planning date (YYYY-MM-DD), default today.")
@click.option("--start", default=None, help="First working day (YYYY-MM-DD).")
@click.option("--year", default=None, type=int, help="Programme year whose lines to inspect (default: the start's).")
@click.option("--line", "lines", multiple=True, help="Inspect these whole lines (repeatable).")
@click.option("--marker", "markers", multiple=True, help="Inspect exactly these markers (repeatable).")
@click.option("--all", "all_markers", is_flag=True, help="Inspect every marker of every line.")
@click.option("--by-marker", is_flag=True, help="Markers whose own last inspection is 5 years old (old rule).")
@click.option("--blackout", multiple=True,
              help="Days off besides public holidays: YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD (repeatable).")
@click.option("--out", default=None, type=PathArg(file_okay=False),
              help="Folder (default: maps; with --workspace, its inspection folder).")
@_overwrite_files
def plan_cmd(county, gpkg, workspace_dir, teams, hours, time_limit, as_of, start, year, lines, markers, all_markers,
             by_marker, blackout, out, overwrite):
    """Plan a campaign's team-days on working days; writes <county>_inspection_plan.gpkg/.xlsx."""
    from geoplan.inspection.planning import plan_for_county
    from geoplan.inspection.report import write_plan_xlsx

    county = workspace_county(workspace_dir) or county
    outdir = _folder(out if out is not None else _default_plan_folder(workspace_dir))
    targets = check_targets([outdir / f"{county}_inspection_plan.gpkg", outdir / f"{county}_inspection_plan.xlsx"],
                            overwrite=overwrite)  # refuse before the work
    refuse_inputs(targets, [gpkg])
    c = load_county_from(county, gpkg, None, workspace_dir)
    with _bar("planning", 8) as bar:
        result = plan_for_county(c, teams, time_limit=time_limit, as_of=as_of, start_date=start,
                                 workday_hours=hours, due_lines=list(lines) or None,
                                 due_markers_list=list(markers) or None, all_markers=all_markers,
                                 year=year, by_marker=by_marker, blackout=list(blackout),
                                 progress=_stage_printer(bar))
    gpkg = result.save(targets[0], overwrite=overwrite)
    xlsx = write_plan_xlsx(result, targets[1], overwrite=overwrite)
    r = result.routes
    click.echo(_("{markers} markers, {days} team-days ({teams} teams), {first} to {last}; longest day "
                 "{longest:.0f} minutes; {unreachable} unreachable").format(
        markers=len(result.visits), days=len(r), teams=r['team'].nunique() if len(r) else 0,
        first=r['date'].min() if len(r) else '', last=r['date'].max() if len(r) else '',
        longest=r['total_min'].max() if len(r) else 0, unreachable=len(result.unreachable)))
    for mid, why in result.unreachable["reason"].items():
        click.echo("  " + _("Unreachable {marker}: {reason}").format(marker=mid, reason=why))
    if result.params.get("calendar_unknown_years"):
        click.echo(_("Note: the holiday calendar does not yet hold {years}; days are planned Monday to Friday. "
                     "Check them once the State Council publishes the holiday arrangements.").format(
            years=_(", ").join(map(str, result.params["calendar_unknown_years"]))))
    click.echo(_("Wrote {first} and {second}").format(first=gpkg, second=xlsx))


@inspect.command("atlas")
@_plan_arg
@click.option("--out", default=None, help="PDF path (default: next to the plan).")
@click.option("--paper", type=click.Choice(["A4", "A3"]), default="A4", show_default=True)
@click.option("--orientation", type=click.Choice(["landscape", "portrait"]), default="landscape", show_default=True)
@_overwrite
def atlas_cmd(plan, workspace_dir, out, paper, orientation, overwrite):
    """Print the PDF atlas of a plan."""
    from geoplan.inspection.planning import InspectionResult
    from geoplan.maps.print import write_atlas

    plan = _plan_path(plan, workspace_dir)

    pdf = Path(out) if out else Path(plan).with_name(Path(plan).stem.replace("_plan", "") + "_atlas.pdf")
    refuse_inputs([pdf], [plan])
    check_targets([pdf], overwrite=overwrite)  # refuse before the work
    result = InspectionResult.load(plan)
    # the atlas writer draws into the temporary file of the one output path: atomic and never clobbering
    with _bar("pages", len(result.routes) + 1) as bar, atomic_target(pdf, overwrite=overwrite) as tmp:
        write_atlas(result, tmp, paper=paper, orientation=orientation, progress=lambda s: bar.update(1))
    click.echo(_("Wrote {path}").format(path=pdf))


@inspect.command("forms")
@_plan_arg
@click.option("--out", default=None, type=PathArg(file_okay=False), help="Folder (default: next to the plan).")
@_overwrite_files
def forms_cmd(plan, workspace_dir, out, overwrite):
    """Write record forms (PDF + XLSX) and GPX files of a plan."""
    from geoplan.inspection import forms
    from geoplan.inspection.planning import InspectionResult

    plan = _plan_path(plan, workspace_dir)

    result = InspectionResult.load(plan)
    folder = _folder(out) if out else Path(plan).parent
    stem = Path(plan).stem.replace("_plan", "")
    gpx_dir = folder / f"{stem}_gpx"
    check_targets([folder / f"{stem}_forms.xlsx", folder / f"{stem}_forms.pdf"]
                  + ([gpx_dir / f"{r}.gpx" for r in result.routes["route_id"]] if gpx_dir.is_dir() else []),
                  overwrite=overwrite)  # refuse before writing any of them
    with _bar("forms", 3) as bar:
        x = forms.write_forms_xlsx(result, folder / f"{stem}_forms.xlsx", overwrite=overwrite)
        bar.update(1)
        p = forms.write_forms_pdf(result, folder / f"{stem}_forms.pdf", overwrite=overwrite)
        bar.update(1)
        g = forms.write_gpx(result, gpx_dir, overwrite=overwrite)
        bar.update(1)
    click.echo(_("Wrote {xlsx}, {pdf} and {n} GPX files ({folder})").format(
        xlsx=x, pdf=p, n=len(g), folder=folder / (stem + '_gpx')))


@inspect.command("share")
@click.argument("plan", type=PathArg(dir_okay=False))
@click.option("--partner", required=True, help="Code of the other side (neighbour county or township).")
@click.option("--out", default=None, help="Zip path (default: next to the plan).")
@_overwrite
def share_cmd(plan, partner, out, overwrite):
    """Share package for the other side: its team-days, meeting points, forms and atlas (zip)."""
    from geoplan.inspection.planning import InspectionResult
    from geoplan.inspection.share import partner_codes, write_share_package

    z = Path(out) if out else Path(plan).with_name(Path(plan).stem.replace("_plan", "") + f"_share_{partner}.zip")
    refuse_inputs([z], [plan])
    check_targets([z], overwrite=overwrite)  # refuse before the work
    result = InspectionResult.load(plan)
    name = partner_codes(result).get(partner, partner)
    write_share_package(result, partner, z, overwrite=overwrite)
    click.echo(_("Wrote {path} ({partner})").format(path=z, partner=name))


@inspect.command("import")
@click.argument("files", nargs=-1, required=True, metavar="[PLAN] FILLED", type=PathArg(dir_okay=False))
@workspace_option
@click.option("--gpx", default=None, type=PathArg(dir_okay=False), help="Handheld GPS waypoints named by marker ID.")
@click.option("--replan/--no-replan", default=True, show_default=True, help="Re-plan markers without a form.")
@click.option("--time-limit", default=10.0, show_default=True, type=float)
@click.option("--out", default=None, type=PathArg(file_okay=False))
@_overwrite_files
def import_cmd(files, workspace_dir, gpx, replan, time_limit, out, overwrite):
    """Import filled forms: update markers and their history, work orders, report, re-plan the rest.

    The updated markers and the per-marker history accumulate in
    <stem>_results.gpkg next to the plan; importing the same form again
    changes nothing.
    """
    # The results GeoPackage is geoplan's own accumulating store and is always updated (atomically);
    # the workbooks, the PDF and the re-plan are replaced only with --overwrite.
    from geoplan.inspection import planning as inspection
    from geoplan.inspection.report import (campaign_report, write_report_pdf, write_report_xlsx,
                                           write_results_xlsx)
    from geoplan.inspection.results import load_results, save_results

    if len(files) > 2:
        raise click.UsageError(_("Give the plan and the filled forms: [PLAN] FILLED (PLAN may be left out "
                                 "with --workspace)."))
    plan, filled = (None, files[0]) if len(files) == 1 else files
    plan = _plan_path(plan, workspace_dir)
    result = inspection.InspectionResult.load(plan)
    folder = Path(out) if out else Path(plan).parent
    stem = Path(plan).stem.replace("_plan", "")
    store = folder / f"{stem}_results.gpkg"
    refuse_inputs([store, folder / f"{stem}_results.xlsx", folder / f"{stem}_report.xlsx"], [plan, filled, gpx])
    targets = [folder / f"{stem}_results.xlsx", folder / f"{stem}_report.xlsx",
               folder / f"{stem}_report.pdf"] + ([folder / f"{stem}_replan.gpkg"] if replan else [])
    if folder.is_dir():
        check_targets(targets, overwrite=overwrite)  # refuse before the work
    prev_markers, prev_history = load_results(store) if store.exists() else (None, None)
    imp = inspection.import_results(result, filled, gpx=gpx, previous_markers=prev_markers,
                                    previous_history=prev_history)
    rep = campaign_report(result, imp)
    _folder(folder)  # a new --out folder only once the form is known good: a refused form leaves nothing behind
    files = check_targets(targets, overwrite=overwrite)
    save_results(imp, store, overwrite=True)  # the accumulating store: earlier imports are inside it
    xlsx = write_results_xlsx(imp, files[0], overwrite=overwrite)
    rx = write_report_xlsx(rep, files[1], overwrite=overwrite)
    rp = write_report_pdf(rep, files[2], overwrite=overwrite)
    click.echo(_("Imported {inspected} markers, {repairs} need maintenance, {remaining} not yet inspected; "
                 "wrote {files}").format(inspected=rep.meta['n_inspected'], repairs=len(imp.repairs),
                                         remaining=len(imp.remaining),
                                         files=_(", ").join(map(str, (store, xlsx, rx, rp)))))
    if replan and imp.remaining:
        with _bar("re-planning", 8) as bar:
            new = inspection.replan(result, imp, time_limit=time_limit, progress=_stage_printer(bar))
        new_path = new.save(files[3], overwrite=overwrite)
        click.echo(_("The remaining markers are re-planned: {markers} markers, {days} team-days; wrote {path}")
                   .format(markers=len(new.visits), days=len(new.routes), path=new_path))


__all__ = ["inspect", "GeoplanError"]
