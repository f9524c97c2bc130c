"""``geoplan inspect``: plan boundary-marker inspections, print maps and forms, import results.

Register with ``main.add_command(inspect)`` in :mod:`geoplan.cli.main`; errors
are :class:`geoplan.errors.GeoplanError` subclasses, which the main group
prints without a traceback.
"""

from __future__ import annotations

from pathlib import Path

import click

from geoplan.cli.util import ErrorGroup
from geoplan.errors import GeoplanError


def _bar(label, total):
    return click.progressbar(length=total, label=label, show_pos=True)


def _stage_printer(bar):
    def say(stage):
        bar.label = f"{stage:<22}"
        bar.update(1)
    return say


@click.group("inspect", cls=ErrorGroup)
def inspect():
    """Joint inspection of boundary markers (界线联合检查): plan, atlas, forms, import."""


@inspect.command("plan")
@click.option("--county", default="330624", show_default=True, help="Sample county code.")
@click.option("--teams", default=2, show_default=True, type=click.IntRange(1, 50))
@click.option("--hours", default=8.0, show_default=True, type=float, help="Working day in hours.")
@click.option("--time-limit", default=10.0, show_default=True, type=float, help="Solver seconds.")
@click.option("--as-of", default=None, help="Planning date (YYYY-MM-DD), default today.")
@click.option("--start", default=None, help="First working day (YYYY-MM-DD).")
@click.option("--line", "lines", multiple=True, help="Inspect these whole lines (repeatable).")
@click.option("--marker", "markers", multiple=True, help="Inspect exactly these markers (repeatable).")
@click.option("--all", "all_markers", is_flag=True, help="Inspect every marker of every line.")
@click.option("--out", default="maps", show_default=True, type=click.Path(file_okay=False))
def plan_cmd(county, teams, hours, time_limit, as_of, start, lines, markers, all_markers, out):
    """Plan team-days; writes <county>_inspection_plan.gpkg/.xlsx."""
    from geoplan.inspection.planning import plan_for_county
    from geoplan.layers.sample import load_sample

    c = load_sample(county)
    with _bar("planning", 8) as bar:
        result = plan_for_county(c, teams, time_limit=time_limit, as_of=as_of, start_date=start,
                                 workday_hours=hours, due_lines=list(lines) or None,
                                 due_markers_list=list(markers) or None, all_markers=all_markers,
                                 progress=_stage_printer(bar))
    outdir = Path(out)
    outdir.mkdir(parents=True, exist_ok=True)
    gpkg = outdir / f"{county}_inspection_plan.gpkg"
    result.save(gpkg)
    xlsx = outdir / f"{county}_inspection_plan.xlsx"
    import pandas as pd
    with pd.ExcelWriter(xlsx, engine="openpyxl") as w:
        result.routes.to_excel(w, sheet_name="组日", index=False)
        result.visits.to_excel(w, sheet_name="访问顺序", index=False)
        result.unreachable.reset_index().to_excel(w, sheet_name="无法到达", index=False)
    click.echo(result.summary())
    click.echo(f"wrote {gpkg} and {xlsx}")


@inspect.command("atlas")
@click.argument("plan", type=click.Path(dir_okay=False))
@click.option("--out", default=None, help="PDF path (default: next to the plan).")
@click.option("--paper", type=click.Choice(["A4", "A3"]), default="A4", show_default=True)
@click.option("--orientation", type=click.Choice(["landscape", "portrait"]), default="landscape", show_default=True)
def atlas_cmd(plan, out, paper, orientation):
    """Print the PDF atlas of a plan."""
    from geoplan.inspection.planning import InspectionResult
    from geoplan.maps.print import write_atlas

    result = InspectionResult.load(plan)
    pdf = Path(out) if out else Path(plan).with_name(Path(plan).stem.replace("_plan", "") + "_atlas.pdf")
    with _bar("pages", len(result.routes) + 1) as bar:
        write_atlas(result, pdf, paper=paper, orientation=orientation, progress=lambda s: bar.update(1))
    click.echo(f"wrote {pdf}")


@inspect.command("forms")
@click.argument("plan", type=click.Path(dir_okay=False))
@click.option("--out", default=None, type=click.Path(file_okay=False), help="Folder (default: next to the plan).")
def forms_cmd(plan, out):
    """Write record forms (PDF + XLSX) and GPX files of a plan."""
    from geoplan.inspection import forms
    from geoplan.inspection.planning import InspectionResult

    result = InspectionResult.load(plan)
    folder = Path(out) if out else Path(plan).parent
    stem = Path(plan).stem.replace("_plan", "")
    with _bar("forms", 3) as bar:
        x = forms.write_forms_xlsx(result, folder / f"{stem}_forms.xlsx")
        bar.update(1)
        p = forms.write_forms_pdf(result, folder / f"{stem}_forms.pdf")
        bar.update(1)
        g = forms.write_gpx(result, folder / f"{stem}_gpx")
        bar.update(1)
    click.echo(f"wrote {x}, {p} and {len(g)} GPX file(s) in {folder / (stem + '_gpx')}")


@inspect.command("import")
@click.argument("plan", type=click.Path(dir_okay=False))
@click.argument("filled", type=click.Path(dir_okay=False))
@click.option("--replan/--no-replan", default=True, show_default=True, help="Re-plan markers without a form.")
@click.option("--time-limit", default=10.0, show_default=True, type=float)
@click.option("--out", default=None, type=click.Path(file_okay=False))
def import_cmd(plan, filled, replan, time_limit, out):
    """Import filled forms: update markers, list repairs, re-plan the rest."""
    import pandas as pd

    from geoplan.inspection import planning as inspection
    from geoplan.layers.io import write_layer

    result = inspection.InspectionResult.load(plan)
    imp = inspection.import_results(result, filled)
    folder = Path(out) if out else Path(plan).parent
    folder.mkdir(parents=True, exist_ok=True)
    stem = Path(plan).stem.replace("_plan", "")
    markers_out = folder / f"{stem}_markers_updated.gpkg"
    write_layer(imp.markers, markers_out, "boundary_markers")
    with pd.ExcelWriter(folder / f"{stem}_results.xlsx", engine="openpyxl") as w:
        imp.history.to_excel(w, sheet_name="检查记录", index=False)
        imp.repairs.to_excel(w, sheet_name="需维护界桩", index=False)
    click.echo(f"{len(imp.history)} marker(s) imported, {len(imp.repairs)} need repair, "
               f"{len(imp.remaining)} still to inspect; wrote {markers_out}")
    if replan and imp.remaining:
        with _bar("re-planning", 8) as bar:
            new = inspection.replan(result, imp, time_limit=time_limit, progress=_stage_printer(bar))
        new_path = folder / f"{stem}_replan.gpkg"
        new.save(new_path)
        click.echo(new.summary())
        click.echo(f"wrote {new_path}")


__all__ = ["inspect", "GeoplanError"]
