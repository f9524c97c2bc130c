"""One county's work, as one task: validate its layers, route its people, evaluate its plan.

:func:`run_county` is what a Dask worker runs. It does exactly what
``geoplan coverage --plan … --layers … --population …`` does for one county
(same functions, same order), so a county's result in the province report is
the single-county result. It never raises for a county's own problem: a bad
layer, a plan that does not fit, a missing file come back as a failed
:class:`CountyResult` with the reason, so the other counties go on.

Results are cached one file per county under the cache folder, named by the
county's input key (:attr:`geoplan.province.inputs.CountyInput.key`); only
successes are cached, so a re-run retries the failures.

Examples in this module use ``prov`` (a province run of 磐安县 alone), ``tmp`` (an empty folder)
(``import geoplan as gp``); pytest builds them once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import os
import pickle
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geoplan.errors import GeoplanError
from geoplan import i18n
from geoplan.i18n import N_, _
from geoplan.province.inputs import CountyInput, county_name

#: The stages a county's task reaches (stored as these values, cached), and how a person reads them.
STAGES = {"图层校验": N_("layer check"), "出行时间": N_("travel times"), "规划评估": N_("plan evaluation"),
          "完成": N_("finished")}


def stage_text(stage: str) -> str:
    """A stage of :data:`STAGES` in the current language (anything else as it is).

    >>> i18n.set_language("en"); stage_text("图层校验")
    'layer check'
    >>> i18n.set_language(None)
    """
    return _(STAGES[stage]) if stage in STAGES else stage


#: Township columns kept for the province map and tables.
TOWN_COLUMNS = ["code", "name", "kind", "county_code", "population", "pop_60plus"]


@dataclass
class CountyResult:
    """What one county task returns.

    Attributes
    ----------
    code, label : str
    key : str
        The input key the result belongs to.
    ok : bool
    reason : str
        Why it failed (empty when ok), in words a planner can act on.
    stage : str
        Stage reached or failed at: 图层校验, 出行时间, 规划评估, 完成.
    name : str
        County name from its outline layer.
    evaluation : geoplan.coverage.evaluation.Evaluation or None
    townships : GeoDataFrame or None
        The county's townships (EPSG:4490) with :data:`TOWN_COLUMNS`.
    outline : GeoDataFrame or None
    layers : dict of str to int
        Features per validated layer.
    seconds : float
        Compute time of the task.
    worker : str
        Which worker ran it ("" outside Dask).
    cached : bool
        Set by the runner when the result came from the cache.

    Examples
    --------
    ``prov`` is a province run of the 磐安县 sample alone, without travel times (the recipe is in
    ``geoplan/conftest.py``: :func:`~geoplan.province.inputs.county_inputs`, then :func:`run_province`).


    >>> r = prov.results[0]
    >>> r.ok, r.code, r.name, len(r.townships), r.stage
    (True, '330727', '磐安县', 14, '完成')
    """

    code: str
    label: str
    key: str
    ok: bool
    reason: str = ""
    stage: str = ""
    name: str = ""
    evaluation: object = None
    townships: gpd.GeoDataFrame | None = None
    outline: gpd.GeoDataFrame | None = None
    layers: dict = field(default_factory=dict)
    seconds: float = 0.0
    worker: str = ""
    cached: bool = False


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return ""


def evaluate_county(county: CountyInput):
    """Load, validate, route and evaluate one county, raising on any problem.

    Returns
    -------
    (County, Evaluation, dict)
        The loaded county, its evaluation and the features per layer.

    Examples
    --------
    >>> from geoplan.province.inputs import county_inputs
    >>> from geoplan.layers.sample import layers_dir
    >>> todo, _ = county_inputs([layers_dir()], codes=["330727"], plans_dir=layers_dir().parent / "plans", travel=False)
    >>> loaded, evaluation, features = evaluate_county(todo[0])
    >>> loaded.name, evaluation.year, features["townships"]
    ('磐安县', 2025, 14)
    """
    from geoplan.coverage.evaluation import evaluate, road_travel
    from geoplan.coverage.plans import parse_plan
    from geoplan.layers.sample import load_county
    from geoplan.network import RoadNetwork

    plan = parse_plan(county.plan, county.plan_source)
    _check_county_code(county)
    data = load_county(county.gpkg, county.population)
    year = plan.default_year() if county.year is None else county.year
    travel = None
    # The same condition and calls as `geoplan coverage`, so results agree to the last digit.
    if county.travel and "roads" in data.layers and data.population is not None:
        travel = road_travel(RoadNetwork.from_roads(data["roads"], source=str(county.gpkg)), data.population)
    evaluation = evaluate(plan, data.layers, year, travel=travel)
    return data, evaluation, {k: len(v) for k, v in data.layers.items()}


def _check_county_code(county: CountyInput) -> None:
    """Fail fast on a layer set filed under the wrong code (one column read, before every layer is)."""
    import pyogrio

    from geoplan.layers.io import list_layers

    if "townships" not in list_layers(county.gpkg):
        raise GeoplanError(_("{path} has no 'townships' layer; every county layer set needs one.").format(
            path=county.gpkg))
    try:
        codes = pyogrio.read_dataframe(county.gpkg, layer="townships", columns=["county_code"], read_geometry=False)
    except Exception:  # noqa: BLE001 — a broken layer is reported with all its problems by load_county
        return
    found = sorted(set(codes["county_code"].dropna().astype(str)))
    if found and found != [county.code]:
        raise GeoplanError(_("{path} is named for county {code}, but its townships are of county {found}. Rename the "
                             "file or put the right county's layers in it.").format(
            path=county.gpkg, code=county.code, found=", ".join(found)))


def run_county(county: CountyInput) -> CountyResult:
    """Run one county; a county's own problem becomes a failed result, never an exception.

    Parameters
    ----------
    county : CountyInput

    Returns
    -------
    CountyResult

    Examples
    --------
    >>> from geoplan.province.inputs import county_inputs
    >>> from geoplan.layers.sample import layers_dir
    >>> todo, _ = county_inputs([layers_dir()], codes=["330727"], plans_dir=layers_dir().parent / "plans")
    >>> r = run_county(todo[0])
    >>> r.ok, r.name, len(r.townships)
    (True, '磐安县', 14)
    """
    chosen = i18n._chosen  # a worker speaks the language of the run that sent the task; put back after
    if county.lang:
        i18n.set_language(county.lang)
    try:
        return _run_county(county)
    finally:
        i18n.set_language(chosen)


def _run_county(county: CountyInput) -> CountyResult:
    start = time.perf_counter()
    result = CountyResult(county.code, county.name, county.key, ok=False, stage="图层校验",
                          name=county_name(county.code), worker=_worker_name())
    try:
        data, evaluation, counts = evaluate_county(county)
    except GeoplanError as exc:
        result.reason = str(exc)
    except MemoryError:
        result.reason = _("out of memory: the county's data exceed a worker's memory limit (--memory-limit)")
    except Exception as exc:  # noqa: BLE001 — one county's bug must not stop the province
        # Not a user's mistake: keep the last frame so a developer can find it from the report.
        where = traceback.extract_tb(exc.__traceback__)[-1]
        result.reason = _("internal error {error} ({where}); please report it").format(
            error=f"{type(exc).__name__}: {exc}", where=f"{Path(where.filename).name}:{where.lineno}")
    else:
        towns = data["townships"]
        keep = [c for c in TOWN_COLUMNS if c in towns.columns]
        result.ok, result.stage = True, "完成"
        result.name = data.name or result.name
        result.evaluation = evaluation
        result.townships = towns[keep + [towns.geometry.name]].reset_index(drop=True)
        result.outline = data.outline
        result.layers = counts
    result.seconds = time.perf_counter() - start
    return result


# --------------------------------------------------------------------------
# Cache
# --------------------------------------------------------------------------

def cache_path(cache_dir, county: CountyInput) -> Path:
    """The cache file of exactly these inputs: the county's name and its input key (file digests, plan).

    Examples
    --------
    >>> from geoplan.province.inputs import county_inputs
    >>> from geoplan.layers.sample import layers_dir
    >>> todo, _ = county_inputs([layers_dir()], codes=["330727"], plans_dir=layers_dir().parent / "plans", travel=False)
    >>> cache_path("cache", todo[0]).name.startswith("330727-")
    True
    """
    return Path(cache_dir) / f"{county.name}-{county.key[:20]}.pickle"


def load_cached(cache_dir, county: CountyInput) -> CountyResult | None:
    """The cached result of exactly these inputs, or None.

    A cache file that cannot be read (interrupted disk, another geoplan
    version) is treated as absent: the county is computed again.

    Examples
    --------
    ``prov`` is a province run of the 磐安县 sample alone, without travel times (the recipe is in
    ``geoplan/conftest.py``: :func:`~geoplan.province.inputs.county_inputs`, then :func:`run_province`).


    >>> from geoplan.province.inputs import county_inputs
    >>> from geoplan.layers.sample import layers_dir
    >>> todo, _ = county_inputs([layers_dir()], codes=["330727"], plans_dir=layers_dir().parent / "plans", travel=False)
    >>> load_cached(tmp, todo[0]) is None
    True
    >>> _ = store_cached(tmp, todo[0], prov.results[0])
    >>> load_cached(tmp, todo[0]).name
    '磐安县'
    """
    if cache_dir is None:
        return None
    p = cache_path(cache_dir, county)
    if not p.is_file():
        return None
    try:
        with open(p, "rb") as fh:
            # The cache folder is written only by this module, for the user running it.
            result = pickle.load(fh)
    except Exception:  # noqa: BLE001 — any unreadable cache entry means "compute again"
        return None
    if not isinstance(result, CountyResult) or result.key != county.key or not result.ok:
        return None
    result.cached = True
    return result


def store_cached(cache_dir, county: CountyInput, result: CountyResult) -> Path | None:
    """Write a successful result atomically (temporary file in the same folder, then rename).

    Examples
    --------
    ``prov`` is a province run of the 磐安县 sample alone, without travel times (recipe in ``geoplan/conftest.py``).


    >>> from geoplan.province.inputs import county_inputs
    >>> from geoplan.layers.sample import layers_dir
    >>> todo, _ = county_inputs([layers_dir()], codes=["330727"], plans_dir=layers_dir().parent / "plans", travel=False)
    >>> p = store_cached(tmp, todo[0], prov.results[0])
    >>> p == cache_path(tmp, todo[0]), load_cached(tmp, todo[0]).ok
    (True, True)
    """
    if cache_dir is None or not result.ok:
        return None
    d = Path(cache_dir)
    d.mkdir(parents=True, exist_ok=True)
    p = cache_path(d, county)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.part")
    try:
        with open(tmp, "wb") as fh:
            pickle.dump(result, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, p)
    finally:
        if tmp.exists():
            tmp.unlink()
    return p


def failed(county: CountyInput, reason: str, stage: str = "") -> CountyResult:
    """A failed result made outside the task (worker lost, task cancelled).

    Examples
    --------
    >>> from geoplan.province.inputs import CountyInput
    >>> r = failed(CountyInput("330727", "330727.gpkg", None, {}, ""), "worker lost", "dask")
    >>> r.ok, r.reason, r.stage
    (False, 'worker lost', 'dask')
    """
    return CountyResult(county.code, county.name, county.key, ok=False, reason=reason, stage=stage,
                        name=county_name(county.code))


def township_frame(results) -> gpd.GeoDataFrame:
    """Townships of every successful county in one GeoDataFrame (EPSG:4490).

    Examples
    --------
    ``prov`` is a province run of the 磐安县 sample alone, without travel times (the recipe is in
    ``geoplan/conftest.py``: :func:`~geoplan.province.inputs.county_inputs`, then :func:`run_province`).


    >>> t = township_frame(prov.results)
    >>> len(t), t.crs.to_epsg()
    (14, 4490)
    """
    parts = [r.townships.assign(county_label=r.label) for r in results if r.ok and r.townships is not None]
    if not parts:
        return gpd.GeoDataFrame({c: [] for c in TOWN_COLUMNS}, geometry=[], crs="EPSG:4490")
    return gpd.GeoDataFrame(pd.concat([p.to_crs("EPSG:4490") for p in parts], ignore_index=True),
                            crs="EPSG:4490")
