"""The main job: run every stage geoplan has on a sample county.

Each stage computes tables (no printing) and writes its outputs under the
output folder; :func:`run_demo` returns what it wrote so the CLI can report it.
Later features add their stage here, so the demo always shows everything
geoplan can do.

Examples in this module use ``county = gp.load_sample("330624")``, ``net =
gp.RoadNetwork.from_roads(county["roads"])``, ``small`` (``county`` with its population in 1 km
cells), ``tmp`` (an empty folder) (``import geoplan as gp``); pytest builds them once per session
(see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from geoplan.cli.map import write_demo_maps
from geoplan.coverage.access import township_access_table
from geoplan.coverage.evaluation import Evaluation, evaluate, road_travel
from geoplan.coverage.plans import load_plan
from geoplan.coverage.proposals import Proposal, propose_sites
from geoplan.coverage.report import write_csv, write_xlsx
from geoplan.gazetteer.naming import for_people as naming_for_people, validate_all
from geoplan.gazetteer.store import seed_from_county
from geoplan.i18n import N_, _
from geoplan.inspection.forms import write_forms_xlsx
from geoplan.inspection.planning import InspectionResult, plan_for_county, route_legs
from geoplan.layers.crs import to_metric
from geoplan.layers.sample import DEFAULT_COUNTY, County, load_sample, sample_paths
from geoplan.layers.schema import SCHEMAS
from geoplan.maps.print import write_atlas
from geoplan.network.graph import RoadNetwork
from geoplan.output import OutputError, atomic_target, check_target, write_csv as _write_table_csv

# The demo plans the joint inspection due on a fixed day, so its output does not change with the calendar.
INSPECTION_DATE = "2026-11-23"

FACILITY_KINDS = ["elderly_care", "cemeteries", "social_work_stations", "disability_homes", "children_homes"]

#: Column headers of the demo's tables as a person reads them (CSV files and the console); the tables
#: themselves keep these English keys, so code and notebooks can rely on them in any language.
HEADERS = {
    "layer": N_("layer"), "title": N_("title"), "features": N_("features"), "geometry": N_("geometry"),
    "code": N_("township code"), "name": N_("name"), "kind": N_("division type"), "population": N_("population"),
    "pop_60plus": N_("aged 60+"), "share_60plus_pct": N_("aged 60+ (%)"), "area_km2": N_("area (km²)"),
    "elderly_care": N_("elderly-care facilities"), "cemeteries": N_("cemeteries and eco-burial sites"),
    "social_work_stations": N_("social-work stations"), "disability_homes": N_("disability homes"),
    "children_homes": N_("children's homes"), "mean_minutes": N_("mean minutes by road"),
    "pct_beyond_15min": N_("beyond 15 minutes (%)"), "pct_beyond_30min": N_("beyond 30 minutes (%)"),
    "unreachable_population": N_("people with no route"),
    "off_network_population": N_("people too far from any road"),
}


def for_people(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with its column headers in the user's language (:data:`HEADERS`), for files and the console.

    >>> list(for_people(pd.DataFrame({"code": ["330624001"], "pop_60plus": [20599]})).columns) in (
    ...     ["乡镇代码", "60岁及以上人口"], ["township code", "aged 60+"])
    True
    """
    return table.rename(columns=lambda c: _(HEADERS[c]) if c in HEADERS else c)


def layer_summary(county: County) -> pd.DataFrame:
    """One row per layer: kind, Chinese title, features, geometry types.

    Examples
    --------
    >>> t = layer_summary(county)
    >>> t.set_index("layer").loc[["townships", "villages", "roads"], "features"].tolist()
    [12, 292, 474]
    """
    rows = []
    for kind, gdf in county.layers.items():
        rows.append({
            "layer": kind,
            "title": SCHEMAS[kind].title,
            "features": len(gdf),
            "geometry": ", ".join(sorted(gdf.geom_type.dropna().unique())),
        })
    if county.population is not None:
        pop = county.population
        rows.append({
            "layer": "population",
            "title": _("population raster"),
            "features": int((pop.data > 0).sum()),
            "geometry": _("raster of {size:g} m cells, {total:,.0f} persons").format(size=abs(pop.transform.a),
                                                                                   total=pop.total),
        })
    return pd.DataFrame(rows)


def township_summary(county: County) -> pd.DataFrame:
    """Per township: population, share aged 60+, area, and operating facilities by kind.

    Examples
    --------
    >>> t = township_summary(county).set_index("name")
    >>> t.loc["儒岙镇", ["population", "pop_60plus", "share_60plus_pct"]].tolist()
    [19513.0, 5934.0, 30.4]
    """
    towns = county["townships"]
    area = to_metric(towns).area / 1e6
    table = pd.DataFrame({
        "code": towns["code"], "name": towns["name"], "kind": towns["kind"],
        "population": towns["population"], "pop_60plus": towns["pop_60plus"],
        "share_60plus_pct": (100 * towns["pop_60plus"] / towns["population"]).astype("Float64").round(1),
        "area_km2": area.round(1).to_numpy(),
    })
    for kind in FACILITY_KINDS:
        if kind not in county.layers:
            continue
        fac = county.layers[kind]
        operating = fac[fac["status"] == "运营"]
        counts = operating.groupby("township_code").size()
        table[kind] = table["code"].map(counts).fillna(0).astype(int)
    return table


def home_care_access(county: County, net: RoadNetwork, thresholds=(15, 30)) -> pd.DataFrame:
    """Per township: population-weighted minutes by road to the nearest operating 居家养老服务中心,
    and the shares of people beyond each threshold (people with no route count as beyond).

    Examples
    --------
    ``small`` (the sample ``gp.load_sample("330624")`` with its population in 1 km cells, see
    ``geoplan/conftest.py``) and its road network ``net = gp.RoadNetwork.from_roads(county["roads"])``:

    >>> t = home_care_access(small, net)
    >>> list(t.columns[:5]), len(t)
    (['code', 'name', 'population', 'mean_minutes', 'pct_beyond_15min'], 12)
    """
    care = county["elderly_care"]
    centres = care[(care["kind"] == "居家养老服务中心") & (care["status"] == "运营")]
    table = township_access_table(county["townships"], county.population.cell_centres(), centres, net,
                                  thresholds=thresholds)
    keep = ["code", "name", "population", "mean_minutes"] + [f"share_beyond_{t:g}min" for t in thresholds]
    keep += ["unreachable_population", "off_network_population"]
    out = table[keep].copy()
    out.attrs["per_cell"] = table.attrs["per_cell"]
    out["mean_minutes"] = out["mean_minutes"].round(1)
    for t in thresholds:
        out[f"share_beyond_{t:g}min"] = (100 * out[f"share_beyond_{t:g}min"]).round(1)
    return out.rename(columns={f"share_beyond_{t:g}min": f"pct_beyond_{t:g}min" for t in thresholds})


def siting_table(proposal: Proposal, current: Evaluation | None = None) -> pd.DataFrame:
    """The proposed sites with the reason each was chosen, and the rule's coverage now, with the planned
    facilities built, and with the proposed sites (the last two as the re-evaluation computes them).

    Examples
    --------
    ``small`` (the sample with its population in 1 km cells, see ``geoplan/conftest.py``) and ``net``:

    >>> from geoplan.coverage.proposals import propose_sites
    >>> rule = gp.load_plan(sample_access_plan("330624")).rules[0]
    >>> t = siting_table(propose_sites(small, net, rule=rule, n_new=1))
    >>> t["what"].tolist()
    ['拟建点', '覆盖率', '覆盖率']
    """
    sites = pd.DataFrame(proposal.sites.drop(columns="geometry"))
    sites.insert(0, "what", _("proposed site"))
    rule = proposal.rule
    steps = []
    if current is not None:
        row = current.summary.set_index("rule_id").loc[rule.id]
        steps.append((_("today, on the evaluation date"), row["value"]))
    steps += [(_("once existing and planned facilities are built") if len(proposal.planned_fixed)
               else _("existing facilities"), proposal.coverage_before),
              (_("after building {n} proposed sites more").format(n=len(proposal.sites)), proposal.coverage_after)]
    effect = pd.DataFrame({"what": _("coverage"), "site_id": "", "name": rule.title,
                           "reason": [_("{label}: {value:.1%}").format(label=label, value=value)
                                      for label, value in steps]})
    return pd.concat([sites, effect], ignore_index=True)


@dataclass
class DemoResult:
    """What the demo computed and where it wrote it.

    Examples
    --------
    What :func:`run_demo` returns (its example is not run with the others: the whole demo takes
    about a minute):

    >>> r = run_demo(tmp, "330624")  # doctest: +SKIP
    >>> sorted(r.tables)  # doctest: +SKIP
    ['home_care_access', 'layers', 'naming_report', 'siting', 'townships']
    """

    county: County
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    evaluation: Evaluation | None = None
    inspection: InspectionResult | None = None
    proposal: Proposal | None = None
    access_evaluation: Evaluation | None = None


def run_demo(out_dir="maps", county: str = DEFAULT_COUNTY) -> DemoResult:
    """Run every stage on a sample county and write the outputs.

    Parameters
    ----------
    out_dir : str or Path
        Folder for the outputs (created if needed).
    county : str
        Sample county code.

    Returns
    -------
    DemoResult

    Examples
    --------
    Not run with the other examples (the whole demo takes about a minute):

    >>> r = run_demo(tmp / "maps", "330624")  # doctest: +SKIP
    >>> r.evaluation.year, len(r.files) > 10  # doctest: +SKIP
    (2022, True)
    """
    data = load_sample(county)  # before creating anything: a bad county leaves no empty folder
    out = Path(out_dir)
    check_preconditions(out, data.code)  # the font, the folder, the demo's own file names: before any write
    out.mkdir(parents=True, exist_ok=True)
    result = DemoResult(data)

    result.tables["layers"] = layer_summary(data)
    result.tables["townships"] = township_summary(data)
    for name, table in result.tables.items():
        # UTF-8 with BOM for Excel on a Chinese Windows PC; the demo replaces only its own files
        result.files.append(_write_table_csv(for_people(table), out / f"{data.code}_{name}.csv", overwrite=True))

    net = travel = None
    if "roads" in data.layers and data.population is not None:
        net = RoadNetwork.from_roads(data["roads"], source=f"{data.code} roads")
        travel = road_travel(net, data.population)
        access = home_care_access(data, net)
        result.tables["home_care_access"] = access
        result.files.append(_write_table_csv(for_people(access), out / f"{data.code}_home_care_access.csv",
                                             overwrite=True))

    plan_path = sample_plan(data.code)
    if plan_path is not None:
        plan = load_plan(plan_path)
        year = plan.default_year()
        evaluation = evaluate(plan, data.layers, year, travel=travel)
        result.evaluation = evaluation
        result.files.append(write_xlsx(evaluation, out / f"{data.code}_plan_{year}.xlsx", overwrite=True))
        result.files += write_csv(evaluation, out, f"{data.code}_plan_{year}", overwrite=True)

    access_path = sample_access_plan(data.code)
    if net is not None and access_path is not None:
        # The service circle (minutes, population group) is the bureau's working target, not the document's:
        # the siting answers that rule, and its coverage figures are the rule's own evaluation.
        access_plan = load_plan(access_path)
        current = evaluate(access_plan, data.layers, travel=travel)
        result.access_evaluation = current
        result.files.append(write_xlsx(current, out / f"{data.code}_service_circle_{current.year}.xlsx",
                                       overwrite=True))
        proposal = propose_sites(data, net, rule=access_plan.rules[0], n_new=3, travel=travel)
        result.proposal = proposal
        result.tables["siting"] = siting_table(proposal, current)
        result.files.append(_write_table_csv(result.tables["siting"].rename(columns={
            "what": _("row kind"), "site_id": _("site ID"), "name": _("name"), "township_code": _("township code"),
            "township": _("township"), "new_people": _("people newly covered"), "reason": _("explanation")}),
            out / f"{data.code}_siting_proposal.csv", overwrite=True))

    gpkg = sample_paths(data.code)[0]
    db = out / f"{data.code}_gazetteer.sqlite"
    # seeded in the temporary file of the one output path, then renamed over the demo's previous database
    with atomic_target(db, overwrite=True) as tmp:
        store, _rejected = seed_from_county(tmp, gpkg)
        report = validate_all(store)
        store.close()
        for suffix in ("-wal", "-shm", "-journal"):  # the previous database's side files, never the new one's
            Path(str(db) + suffix).unlink(missing_ok=True)
    result.tables["naming_report"] = report
    # the file is for people: headers and severities in their language (the table keeps the English keys)
    result.files += [db, _write_table_csv(naming_for_people(report), out / f"{data.code}_naming_report.csv",
                                          overwrite=True)]

    # the five-year programme of whole lines, then this year's campaign (its lines, both sides)
    from geoplan.inspection.parties import division_names
    from geoplan.inspection.programme import line_programme
    from geoplan.inspection.report import write_plan_xlsx, write_programme_xlsx

    start_year = pd.Timestamp(INSPECTION_DATE).year
    programme = line_programme(data["boundary_lines"], data["boundary_markers"], county_code=data.code,
                               start_year=start_year, areas=division_names(data))
    result.tables["inspection_programme"] = programme
    inspection = plan_for_county(data, n_teams=2, time_limit=5, as_of=INSPECTION_DATE)
    result.inspection = inspection
    atlas = out / f"{data.code}_inspection_atlas.pdf"
    result.files += [write_programme_xlsx(programme, out / f"{data.code}_inspection_programme.xlsx", overwrite=True),
                     inspection.save(out / f"{data.code}_inspection_plan.gpkg", overwrite=True),
                     write_plan_xlsx(inspection, out / f"{data.code}_inspection_plan.xlsx", overwrite=True)]
    with atomic_target(atlas, overwrite=True) as tmp:
        write_atlas(inspection, tmp)
    result.files += [atlas, write_forms_xlsx(inspection, out / f"{data.code}_inspection_forms.xlsx", overwrite=True)]

    # The maps are drawn into a private folder, then each is renamed onto the demo's own name.
    staging = Path(tempfile.mkdtemp(prefix=".demo-maps.", dir=out))
    try:
        drawn = write_demo_maps(
            data, staging, evaluation=result.evaluation,
            per_cell=access.attrs["per_cell"] if net is not None else None,
            proposed_sites=result.proposal.sites if result.proposal is not None else None,
            routes=route_legs(inspection))
        for f in drawn:
            with atomic_target(out / Path(f).name, overwrite=True) as tmp:
                shutil.move(str(f), tmp)
            result.files.append(out / Path(f).name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return result


#: The demo's own files (``{code}`` is the county); only these are ever replaced in the folder the user gave.
DEMO_FILES = ("{code}_layers.csv", "{code}_townships.csv", "{code}_home_care_access.csv", "{code}_plan_*.xlsx",
              "{code}_plan_*_summary.csv", "{code}_plan_*_townships.csv", "{code}_plan_*_villages.csv",
              "{code}_service_circle_*.xlsx", "{code}_siting_proposal.csv", "{code}_gazetteer.sqlite",
              "{code}_naming_report.csv", "{code}_inspection_programme.xlsx", "{code}_inspection_plan.gpkg",
              "{code}_inspection_plan.xlsx", "{code}_inspection_atlas.pdf", "{code}_inspection_forms.xlsx",
              "{code}_coverage.html", "{code}_inspection.html", "{code}_gazetteer.html")


def check_preconditions(out: Path, code: str) -> None:
    """Everything the demo needs, checked before it writes anything (issue 21, item 5).

    The Chinese font for the atlas; an output folder that is a folder and
    writable (or can be created); no demo file name taken by a folder or a
    read-only file.

    Raises
    ------
    geoplan.maps.print.PrintError
        No CJK font is installed.
    geoplan.output.OutputError
        The folder or one of the demo's file names cannot be written.

    Examples
    --------
    >>> check_preconditions(tmp / "out", "330624")  # a new folder: nothing in the way
    >>> (tmp / "file").write_text("x") and None
    >>> check_preconditions(tmp / "file", "330624")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geoplan.output.OutputError: .../file 是一个文件，不是文件夹：请用 --out 给出输出文件夹。未写任何文件。
    """
    from geoplan.maps.print import cjk_font_path

    cjk_font_path()
    if out.exists() and not out.is_dir():
        raise OutputError(_("{path} is a file, not a folder: give the output folder with --out. Nothing was "
                            "written.").format(path=out))
    if not out.exists():
        parent = next((p for p in out.absolute().parents if p.exists()), None)
        if parent is None or not parent.is_dir():
            raise OutputError(_("Cannot make the output folder {path}: a parent path is not a folder. Nothing was "
                                "written.").format(path=out))
        check_target(parent / ".geoplan-demo-probe", overwrite=True)  # the folder can be created there
        return
    check_target(out / f"{code}_layers.csv", overwrite=True)  # the folder is writable
    for pattern in DEMO_FILES:
        for p in out.glob(pattern.format(code=code)):
            check_target(p, overwrite=True)


def sample_access_plan(county: str) -> Path | None:
    """The bundled service-circle plan of a sample county (``plans/local/<code>_*.toml``), if any.

    Examples
    --------
    >>> sample_access_plan("330624").name, sample_access_plan("110101")
    ('330624_15min.toml', None)
    """
    folder = Path(__file__).resolve().parents[1] / "plans" / "local"
    found = sorted(folder.glob(f"{county}_*.toml"))
    return found[0] if found else None


def sample_plan(county: str) -> Path | None:
    """The bundled plan file of a sample county (``plans/<code>_*.toml``), if any.

    Examples
    --------
    >>> sample_plan("330624").name, sample_plan("330727").name
    ('330624_2022.toml', '330727_2025.toml')
    """
    folder = Path(__file__).resolve().parents[1] / "plans"
    found = sorted(folder.glob(f"{county}_*.toml"))
    return found[-1] if found else None
