"""``geoplan map …``: write the HTML maps from the command line, and the demo's maps.

The click group :data:`map_group` is registered on the main command line
(``geoplan map coverage|inspection|gazetteer``). :func:`write_demo_maps`
writes all three maps of a sample county for ``geoplan demo``.
"""

from __future__ import annotations

from pathlib import Path

import click
import geopandas as gpd
import pandas as pd

from geoplan.cli.util import ErrorGroup, PathArg, load_county_from, workspace_option
from geoplan.errors import DataFileError
from geoplan.layers.schema import SCHEMAS
from geoplan.maps.content import default_sources
from geoplan.maps.html import BASEMAPS, coverage_map, gazetteer_map, inspection_map, people_beyond, save_map
from geoplan.i18n import N_, _
from geoplan.output import OVERWRITE_HELP, check_targets, refuse_inputs

__all__ = ["map_group", "write_demo_maps", "demo_isochrones"]


def _read_vector(path: Path | None, what: str) -> gpd.GeoDataFrame | None:
    if path is None:
        return None
    try:
        gdf = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise DataFileError(_("Cannot read the {what} file {path}: {error}").format(
            what=_(what), path=path, error=exc)) from exc
    if gdf.crs is None:
        raise DataFileError(_("The {what} file {path} has no coordinate reference system; "
                              "save it with one (e.g. EPSG:4490).").format(what=_(what), path=path))
    return gdf


def _read_table(path: Path | None, what: str) -> pd.DataFrame | None:
    if path is None:
        return None
    try:
        if path.suffix.lower() in (".xlsx", ".xls"):
            return pd.read_excel(path, dtype={"name_id": str})
        return pd.read_csv(path, encoding="utf-8-sig", dtype={"name_id": str})
    except Exception as exc:
        raise DataFileError(_("Cannot read the {what} file {path}: {error}").format(
            what=_(what), path=path, error=exc)) from exc


def _basemap(basemap: str | None, offline: bool) -> str:
    # Offline means "for a PC without internet": tiles could not load there anyway.
    return basemap or ("none" if offline else "osm")


def _common(f):
    """Options every map command has."""
    f = click.option("--overwrite", is_flag=True, help=OVERWRITE_HELP)(f)
    f = click.option("--data-date", help="Date of the data, shown under the title (e.g. 2024-06-30).")(f)
    f = click.option("--title", help="Map title.")(f)
    f = click.option("--offline", is_flag=True,
                     help="Write one self-contained file (Leaflet inlined) that works without internet.")(f)
    f = click.option("--tianditu-key", envvar="TIANDITU_KEY",
                     help="Tianditu key for the tianditu-* basemaps (or set TIANDITU_KEY).")(f)
    f = click.option("--basemap", type=click.Choice(list(BASEMAPS)),
                     help="Basemap. Default: none with --offline, else osm. gaode* shifts the data to GCJ-02.")(f)
    f = click.option("--out", "out_path", type=PathArg(dir_okay=False, path_type=Path),
                     help="HTML file to write.")(f)
    f = workspace_option(f)
    f = click.option("--population", type=PathArg(exists=True, dir_okay=False, path_type=Path),
                     help="Population GeoTIFF to go with --layers.")(f)
    f = click.option("--layers", "gpkg", type=PathArg(exists=True, dir_okay=False, path_type=Path),
                     help="County GeoPackage with layers named by kind. Default: the sample county.")(f)
    f = click.option("--county", default="330624", show_default=True,
                     help="Sample county code when --layers is not given: 330624 (Xinchang, 新昌县) or 330727 (Pan'an, 磐安县).")(f)
    return f


def _done(path: Path) -> None:
    click.echo(_("Wrote {path} ({size:,.0f} KB)").format(path=path, size=path.stat().st_size / 1024))


@click.group("map", cls=ErrorGroup)
def map_group():
    """Maps: coverage (HTML and A4 static PNG/PDF), inspection, gazetteer.

    Each HTML map has a layer control, legend, metric scale bar, a search box
    over names and popups in Chinese, and prints on one A4 sheet. Use
    --offline for a PC without internet.
    """


def _need_out(out_path: Path | None) -> Path:
    if out_path is None:
        raise click.UsageError(_("Name the HTML file to write with --out FILE.html."))
    return out_path


def plan_travel(county, evaluation_plan, year):
    """Evaluate a plan with road travel when the county has roads and people; also the per-cell result.

    Returns ``(evaluation, per_cell, minutes, label)``; ``per_cell`` is the routing of every populated cell
    to the facilities of the plan's first travel-time rule (None without roads, raster or such a rule).
    """
    from geoplan.coverage.access import township_access_table
    from geoplan.coverage.evaluation import _filtered, evaluate, road_travel
    from geoplan.network.graph import RoadNetwork

    rules = [r for r in evaluation_plan.rules if r.kind == "travel_time"]
    if not rules or "roads" not in county.layers or county.population is None:
        return evaluate(evaluation_plan, county.layers, year), None, None, None
    net = RoadNetwork.from_roads(county["roads"], source=f"{county.code} roads")
    evaluation = evaluate(evaluation_plan, county.layers, year, travel=road_travel(net, county.population))
    rule = rules[0]
    minutes = float(rule.get("minutes"))
    facilities = _filtered(county.layers, rule)
    if not len(facilities):
        return evaluation, None, None, None
    table = township_access_table(county["townships"], county.population.cell_centres(), facilities, net,
                                  thresholds=[minutes])
    where = rule.get("where") or {}
    # one condition set, or alternatives (a list of them): every value named, once
    values = [v for w in (where if isinstance(where, list) else [where]) for vs in w.values()
              for v in (vs if isinstance(vs, list) else [vs])]
    label = _(", ").join(dict.fromkeys(str(v) for v in values))  # the plan's values, as written there
    return evaluation, table.attrs["per_cell"], minutes, label or SCHEMAS[rule.get("layer")].title


@map_group.command("coverage")
@_common
@click.option("--plan", "plan_path", type=PathArg(exists=True, dir_okay=False, path_type=Path),
              help="Plan (TOML) whose township results colour the map, e.g. plans/330624_2022.toml.")
@click.option("--year", type=int, help="Year to evaluate. Default: the plan's latest target year.")
@click.option("--travel/--no-travel", default=True, show_default=True,
              help="Evaluate travel-time rules on the roads and draw the travel-time areas "
                   "(needs roads and a population raster).")
@click.option("--isochrones", type=PathArg(exists=True, dir_okay=False, path_type=Path),
              help="Isochrone polygons (GeoJSON/GPKG) with a 'minutes' column, drawn when there is no travel result.")
@click.option("--sites", type=PathArg(exists=True, dir_okay=False, path_type=Path),
              help="Proposed new sites (points, GeoJSON/GPKG).")
@click.option("--uncovered", type=PathArg(exists=True, dir_okay=False, path_type=Path),
              help="People not covered (points with 'population'). Default: from the travel result.")
@click.option("--png", "png_path", type=PathArg(dir_okay=False, path_type=Path),
              help="Also write an A4 static map as PNG (300 dpi) for the written plan.")
@click.option("--pdf", "pdf_path", type=PathArg(dir_okay=False, path_type=Path),
              help="Also write an A4 static map as PDF.")
@click.option("--indicator", help="Rule ID of the indicator on the static map (default: the first).")
@click.option("--each-indicator", is_flag=True,
              help="One static map per indicator: FILE_<rule_id>.png/.pdf next to the named file.")
@click.option("--orientation", type=click.Choice(["landscape", "portrait"]), default="landscape", show_default=True,
              help="Static map orientation.")
def coverage_cmd(county, gpkg, population, workspace_dir, out_path, basemap, tianditu_key, offline, title, data_date,
                 overwrite,
                 plan_path, year, travel, isochrones, sites, uncovered, png_path, pdf_path, indicator, each_indicator,
                 orientation):
    """Coverage of a plan, one indicator at a time: HTML map and/or A4 static maps.

    \b
    Examples:
      geoplan map coverage --plan plans/330624_2022.toml --out 覆盖.html --offline
      geoplan map coverage --plan plans/330624_2022.toml --pdf 覆盖.pdf --png 覆盖.png
      geoplan map coverage --plan plans/330624_2022.toml --png 覆盖.png --each-indicator
    """
    from geoplan.coverage.evaluation import evaluate
    from geoplan.coverage.plans import load_plan
    from geoplan.maps.static import coverage_static, coverage_static_all

    if out_path is None and png_path is None and pdf_path is None:
        raise click.UsageError(_("Name at least one output: --out FILE.html, --png FILE.png or --pdf FILE.pdf."))
    for path, suffix in ((png_path, ".png"), (pdf_path, ".pdf")):
        if path is not None and path.suffix.lower() != suffix:
            raise click.UsageError(_("--{option} needs a file ending in {suffix}, got {name}.").format(
                option=suffix[1:], suffix=suffix, name=path.name))
    # every output checked before any work; inputs are never outputs
    targets = [out_path] + ([] if each_indicator else [png_path, pdf_path])
    check_targets(targets, overwrite=overwrite)
    refuse_inputs(targets, [gpkg, population, plan_path, isochrones, sites, uncovered])
    plan = load_plan(plan_path) if plan_path is not None else None
    c = load_county_from(county, gpkg, population, workspace_dir, expect=plan and plan.county)
    evaluation = per_cell = minutes = label = None
    if plan is not None:
        y = year or plan.default_year()
        if travel:
            evaluation, per_cell, minutes, label = plan_travel(c, plan, y)
        else:
            evaluation = evaluate(plan, c.layers, y)
    people = _read_vector(uncovered, N_("uncovered people"))
    if people is None and per_cell is not None:
        people = people_beyond(per_cell, minutes)
    content = dict(travel=per_cell, travel_label=label, uncovered=people, gap_minutes=minutes,
                   proposed_sites=_read_vector(sites, N_("proposed sites")), title=title, data_date=data_date)
    if out_path is not None:
        m = coverage_map(c, evaluation, isochrones=_read_vector(isochrones, N_("isochrones")) if per_cell is None else None,
                         basemap=_basemap(basemap, offline), tianditu_key=tianditu_key, offline=offline, **content)
        _done(save_map(m, out_path, overwrite=overwrite))
    for path in (png_path, pdf_path):
        if path is None:
            continue
        if each_indicator:
            for written in coverage_static_all(c, evaluation, path, orientation=orientation, overwrite=overwrite,
                                               **content):
                _done(written)
        else:
            _done(coverage_static(c, evaluation, path, indicator=indicator, orientation=orientation,
                                  overwrite=overwrite, **content))


def _html_target_and_county(out_path, overwrite, county, gpkg, population, workspace_dir, *inputs):
    """The --out file, checked before any work (free or --overwrite, never an input), and the county."""
    out_path = _need_out(out_path)
    check_targets([out_path], overwrite=overwrite)
    refuse_inputs([out_path], [gpkg, population, *inputs])
    return out_path, load_county_from(county, gpkg, population, workspace_dir)


@map_group.command("inspection")
@_common
@click.option("--routes", type=PathArg(exists=True, dir_okay=False, path_type=Path),
              help="Team-day routes: LineStrings with team, day and order columns (GeoJSON/GPKG).")
def inspection_cmd(county, gpkg, population, workspace_dir, out_path, basemap, tianditu_key, offline, title, data_date, overwrite,
                   routes):
    """Boundary inspection: lines, markers by condition, team-day routes in visit order.

    \b
    Example:
      geoplan map inspection --routes routes.gpkg --out 界线检查.html --offline
    """
    out_path, c = _html_target_and_county(out_path, overwrite, county, gpkg, population, workspace_dir, routes)
    m = inspection_map(c["boundary_lines"], c["boundary_markers"], _read_vector(routes, N_("routes")),
                       outline=c.outline, basemap=_basemap(basemap, offline), tianditu_key=tianditu_key,
                       offline=offline, title=title or _("{county} boundary joint inspection").format(county=c.name or c.code), data_date=data_date)
    _done(save_map(m, out_path, overwrite=overwrite))


@map_group.command("gazetteer")
@_common
@click.option("--history", type=PathArg(exists=True, dir_okay=False, path_type=Path),
              help="Name history table (CSV/XLSX) with name_id and e.g. year, event, old_name, note.")
def gazetteer_cmd(county, gpkg, population, workspace_dir, out_path, basemap, tianditu_key, offline, title, data_date, overwrite,
                  history):
    """Place names by category, with their history in the popup.

    \b
    Example:
      geoplan map gazetteer --history 地名沿革.csv --out 地名.html --offline
    """
    out_path, c = _html_target_and_county(out_path, overwrite, county, gpkg, population, workspace_dir, history)
    m = gazetteer_map(c["place_names"], _read_table(history, N_("name history")), outline=c.outline,
                      basemap=_basemap(basemap, offline), tianditu_key=tianditu_key, offline=offline,
                      title=title or _("{county} place names").format(county=c.name or c.code), data_date=data_date)
    _done(save_map(m, out_path, overwrite=overwrite))


# --------------------------------------------------------------------------
# Demo
# --------------------------------------------------------------------------

def demo_isochrones(county, minutes=(15, 30), net=None) -> gpd.GeoDataFrame | None:
    """Road isochrones of a county's operating home-care centres (None without roads or centres)."""
    from geoplan.network.graph import RoadNetwork

    if "roads" not in county.layers or "elderly_care" not in county.layers:
        return None
    fac = county["elderly_care"]
    fac = fac[(fac["kind"] == "居家养老服务中心") & (fac["status"] == "运营")]
    if not len(fac):
        return None
    net = net if net is not None else RoadNetwork.from_roads(county["roads"])
    iso = net.isochrones(fac, "facility_id", minutes=minutes)
    return iso.assign(kind="居家养老服务中心")


def write_demo_maps(county, out_dir, *, evaluation=None, per_cell: gpd.GeoDataFrame | None = None,
                    gap_minutes: float = 15, basemap: str = "none", offline: bool = True,
                    isochrones: gpd.GeoDataFrame | None = None,
                    routes: gpd.GeoDataFrame | None = None,
                    proposed_sites: gpd.GeoDataFrame | None = None) -> list[Path]:
    """Write the coverage, inspection and gazetteer maps of a county.

    Parameters
    ----------
    county : geoplan.layers.sample.County
    out_dir : str or Path
        Folder; files are ``<code>_coverage.html``, ``<code>_inspection.html``
        and ``<code>_gazetteer.html``.
    evaluation : geoplan.coverage.evaluation.Evaluation, optional
        Plan results to colour the townships by.
    per_cell : GeoDataFrame, optional
        Per-person routing result to the nearest home-care centre
        (``township_access_table(...).attrs["per_cell"]``): people beyond
        ``gap_minutes`` form the gap layer.
    basemap : str
        Default ``none``: the demo makes files that open anywhere.
    offline : bool
        Inline Leaflet (default True).
    isochrones : GeoDataFrame, optional
        Default: :func:`demo_isochrones` (15 and 30 minutes to home-care centres).
    routes : GeoDataFrame, optional
        Inspection legs (:func:`geoplan.inspection.planning.route_legs`) for the inspection map.
    proposed_sites : GeoDataFrame, optional
        New sites from siting, drawn on the coverage map.

    Returns
    -------
    list of Path
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if isochrones is None and per_cell is None:
        isochrones = demo_isochrones(county)
    uncovered = people_beyond(per_cell, gap_minutes) if per_cell is not None else None
    name = county.name or county.code
    files = [
        save_map(coverage_map(county, evaluation, travel=per_cell, travel_label=_("home-care service centre"),
                              isochrones=isochrones if per_cell is None else None, uncovered=uncovered,
                              proposed_sites=proposed_sites,
                              gap_minutes=gap_minutes, basemap=basemap, offline=offline),
                 out / f"{county.code}_coverage.html"),
        save_map(inspection_map(county["boundary_lines"], county["boundary_markers"], routes, outline=county.outline,
                                basemap=basemap, offline=offline, title=_("{county} boundary joint inspection").format(county=name),
                                sources=default_sources(county)),
                 out / f"{county.code}_inspection.html"),
        save_map(gazetteer_map(county["place_names"], outline=county.outline, basemap=basemap, offline=offline,
                               title=_("{county} place names").format(county=name), hidden_categories=["1220"], sources=default_sources(county)),
                 out / f"{county.code}_gazetteer.html"),
    ]
    return files
