"""What a province run works on: the counties' layer sets, their plans, and a key per county.

A *layer set* is the layout of the shipped ``layers/`` folder: ``<code>.gpkg``
(layers named by kind) and, optionally, ``<code>_population.tif``. A
province run takes a folder of them (or several folders) and, for each
county, a plan:

* its own plan file from a plans folder (``<code>_*.toml`` or
  ``<code>.toml``; the last by name if several, as ``plans/`` holds them), or
* one *plan template* applied to every county without its own plan: an
  ordinary plan file whose ``[plan] county`` is ``"*"`` (or absent) and whose
  name may say ``{county}`` / ``{county_name}``.

A template carries no ``[statistics]``: those are one county's figures
(burials, social organisations …) and would be wrong for every other county;
put them in that county's own plan.

Each county's inputs are fingerprinted (:attr:`CountyInput.key`): file
contents, the plan as parsed TOML, the year and the options. The result
cache is keyed by it, so a re-run recomputes exactly the counties whose
inputs changed or that failed last time.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from geoplan.coverage.plans import PlanError, parse_plan
from geoplan.errors import GeoplanError
from geoplan.i18n import _, current_language

#: Bumped whenever what a county task computes changes, so old cached results are not reused.
CACHE_VERSION = 1

_CODE = re.compile(r"^(\d{6})\.gpkg$")


class ProvinceError(GeoplanError):
    """A province run cannot start as asked (no counties, bad template, clashing codes …).

    Examples
    --------
    >>> county_inputs(["no_such_folder"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geoplan.province.inputs.ProvinceError: 找不到图层文件夹：no_such_folder。请给出存放 <县代码>.gpkg（及 <县代码>_population.tif）的文件夹，如 layers/。
    """


@dataclass(frozen=True)
class CountyInput:
    """Everything one county task needs, and nothing that is not plain data (it travels to a worker).

    Attributes
    ----------
    code : str
        6-digit county code (from the file name).
    gpkg : str
        The county's GeoPackage.
    population : str or None
        Its population GeoTIFF, if there is one.
    plan : dict
        The plan document as parsed TOML (a template already filled in).
    plan_source : str
        Where the plan came from (file, or ``template:<file>``), for messages.
    year : int or None
        Year to evaluate; None for the plan's own default year.
    travel : bool
        Evaluate travel-time rules (needs roads and the population raster).
    label : str
        Name of the task in progress displays; the code unless a benchmark runs copies.
    lang : str
        The language of the result's words (reasons, kinds): the worker speaks it, and it is part of the
        key, so a cached result is never shown in the other language.

    Examples
    --------
    >>> from geoplan.layers.sample import layers_dir
    >>> c = county_inputs([layers_dir()], codes=["330727"], plans_dir=layers_dir().parent / "plans")[0][0]
    >>> c.code, c.label, c.plan_source.endswith("330727_2025.toml"), c.year, c.travel
    ('330727', '', True, None, True)
    """

    code: str
    gpkg: str
    population: str | None
    plan: dict
    plan_source: str
    year: int | None = None
    travel: bool = True
    label: str = ""
    lang: str = ""
    _digests: tuple = field(default=(), compare=False, repr=False)

    @property
    def key(self) -> str:
        """Hex digest of every input of the task: same key, same result."""
        payload = {
            "v": CACHE_VERSION, "code": self.code, "label": self.label or self.code,
            "files": list(self._digests or _file_digests(self.gpkg, self.population)),
            "plan": self.plan, "year": self.year, "travel": self.travel,
        }
        if self.lang:
            payload["lang"] = self.lang
        text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    @property
    def name(self) -> str:
        return self.label or self.code


def _digest(path: str | None) -> str:
    if path is None:
        return "-"
    p = Path(path)
    if not p.exists():
        # A missing file is not an error here: the task reports it with the county, the others go on.
        return "missing"
    with open(p, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _file_digests(gpkg: str, population: str | None) -> tuple[str, str]:
    return _digest(gpkg), _digest(population)


def fingerprinted(county: CountyInput) -> CountyInput:
    """The same input with its file digests computed once (hashing reads the files).

    Examples
    --------
    >>> from geoplan.layers.sample import layers_dir
    >>> todo, _ = county_inputs([layers_dir()], codes=["330727"], plans_dir=layers_dir().parent / "plans", travel=False)
    >>> f = fingerprinted(todo[0])
    >>> f.code, f.key == todo[0].key, len(f.key) >= 20
    ('330727', True, True)
    """
    from dataclasses import replace

    return replace(county, _digests=_file_digests(county.gpkg, county.population))


# --------------------------------------------------------------------------
# Plans
# --------------------------------------------------------------------------

#: The plan template ``--sample zhejiang`` applies to counties without their own plan: the rules of the
#: sample plans that need only layers (no county statistics), with the sample plans' targets.
SAMPLE_TEMPLATE = """
[plan]
county = "*"
name = "{county_name}民政设施规划目标（省级模板，样例）"
year = 2025
source = "geoplan 省级样例模板：取自 plans/ 中两个样例县规划里只依赖图层的指标"

[[rule]]
id = "home_care_centre"
group = "养老服务"
kind = "full_coverage"
title = "每个乡镇(街道)建有居家养老服务中心"
layer = "elderly_care"
where = { kind = "居家养老服务中心" }

[[rule]]
id = "eco_cemetery"
group = "殡葬服务"
kind = "full_coverage"
title = "每个乡镇(街道)建有公益性生态公墓或节地生态安葬点"
layer = "cemeteries"
where = { kind = ["公益性公墓", "生态安葬点"], eco_burial = true }

[[rule]]
id = "social_work_station"
group = "社会工作"
kind = "full_coverage"
title = "每个乡镇(街道)建有社会工作站"
layer = "social_work_stations"

[[rule]]
id = "disability_home"
group = "残疾人服务"
kind = "population_threshold"
title = "常住人口 1 万以上的乡镇(街道)建有规范化残疾人之家"
layer = "disability_homes"
where = { standardised = true }
threshold = 10000

[[rule]]
id = "nursing_beds"
group = "养老服务"
kind = "ratio"
title = "护理型床位占养老机构床位比例"
layer = "elderly_care"
where = { kind = "养老机构" }
numerator = "nursing_beds"
denominator = "beds"
target = 0.55

[[rule]]
id = "home_care_15min"
group = "养老服务"
kind = "travel_time"
title = "60 岁及以上人口 15 分钟内可达居家养老服务中心的比例"
layer = "elderly_care"
where = { kind = "居家养老服务中心" }
minutes = 15
population = "pop_60plus"
target = 0.9
"""


def read_toml(path) -> dict:
    """A TOML file as a dict, with the plan module's messages for a missing or broken file.

    Examples
    --------
    >>> from geoplan.layers.sample import layers_dir
    >>> plan = read_toml(layers_dir().parent / "plans" / "330727_2025.toml")
    >>> plan["plan"]["county"], plan["plan"]["year"], len(plan["rule"])
    ('330727', 2025, 10)
    """
    p = Path(path)
    if not p.is_file():
        raise PlanError(_("Plan file not found: {path}.").format(path=p))
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise PlanError(_("{path} is not UTF-8 text; save it as UTF-8.").format(path=p)) from exc
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(_("{path} is not valid TOML: {error}. Check quotes and brackets on that line.").format(
            path=p, error=exc)) from exc


def check_template(data: dict, source: str) -> dict:
    """Check a plan template once, before any county is run.

    Raises
    ------
    PlanError
        If it names a county, carries statistics, or breaks the plan schema
        (checked by filling it in for a placeholder county).

    Examples
    --------
    >>> t = {"plan": {"name": "{county_name}民政事业目标", "year": 2025},
    ...      "rule": [{"id": "home_care_centre", "group": "养老服务", "title": "每个乡镇(街道)建有居家养老服务中心",
    ...                "kind": "full_coverage", "layer": "elderly_care", "where": {"kind": "居家养老服务中心"}}]}
    >>> check_template(t, "template.toml")["plan"]["name"]
    '{county_name}民政事业目标'
    >>> check_template({**t, "plan": {**t["plan"], "county": "330624"}}, "template.toml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geoplan.coverage.plans.PlanError: template.toml：规划模板适用于每个县，因此 [plan] 中的 county 必须是 "*"（或不写），不能是 '330624'。某一个县自己的规划请用 --plans。
    """
    meta = data.get("plan")
    if not isinstance(meta, dict):
        raise PlanError(_("{source}: a plan template needs a [plan] table with name = \"…\" (and county = \"*\").").format(
            source=source))
    county = str(meta.get("county", "*"))
    if county != "*":
        raise PlanError(_("{source}: a plan template is applied to every county, so its [plan] county must be \"*\" "
                          "(or left out), not {county}. For one county's own plan use --plans.").format(
            source=source, county=repr(county)))
    stats = {k for k in (data.get("statistics") or {}) if k != "source"}
    if stats:
        raise PlanError(_("{source}: a plan template cannot carry [statistics] ({names}): they are one county's "
                          "figures. Put them in that county's own plan file (--plans).").format(
            source=source, names=", ".join(sorted(stats))))
    parse_plan(fill_template(data, "000000", ""), source)
    return data


def fill_template(data: dict, code: str, county_name: str) -> dict:
    """The template as one county's plan document: county code set, name placeholders replaced.

    Examples
    --------
    >>> fill_template({"plan": {"name": "{county_name}民政事业目标"}}, "330727", "磐安县")["plan"]
    {'name': '磐安县民政事业目标', 'county': '330727'}
    """
    out = copy.deepcopy(data)
    meta = out.setdefault("plan", {})
    meta["county"] = code
    # Plain replacement, not str.format: a brace in a plan name must not be read as a field.
    name = str(meta.get("name", "{county_name}民政事业目标"))
    meta["name"] = name.replace("{county_name}", county_name or code).replace("{county}", code)
    return out


def find_plan(plans_dir: Path, code: str) -> Path | None:
    """A county's own plan in a plans folder: ``<code>.toml`` or the last ``<code>_*.toml`` by name.

    Examples
    --------
    >>> from geoplan.layers.sample import layers_dir
    >>> find_plan(layers_dir().parent / "plans", "330727").name, find_plan(layers_dir().parent / "plans", "330100")
    ('330727_2025.toml', None)
    """
    exact = plans_dir / f"{code}.toml"
    if exact.is_file():
        return exact
    found = sorted(plans_dir.glob(f"{code}_*.toml"))
    return found[-1] if found else None


# --------------------------------------------------------------------------
# Divisions: names, prefectures, the counties of a province
# --------------------------------------------------------------------------

def county_table():
    """Every county of the official list: ``county_code, county_name, city_code, city_name, province_…``.

    Examples
    --------
    >>> t = county_table()
    >>> t.loc["330624", ["county_name", "city_name"]].tolist(), len(t[t["province_code"] == "33"])
    (['新昌县', '绍兴市'], 90)
    """
    from geoplan.layers.divisions import official_townships

    t = official_townships()
    cols = ["county_code", "county_name", "city_code", "city_name", "province_code", "province_name"]
    return t[cols].drop_duplicates("county_code").set_index("county_code")


def province_counties(province: str = "33") -> list[str]:
    """County codes of a province (2-digit code; Zhejiang is ``33``: 90 counties) from the official list.

    Examples
    --------
    >>> codes = province_counties("33")
    >>> len(codes), "330624" in codes, "330727" in codes
    (90, True, True)
    """
    t = county_table()
    codes = sorted(t.index[t["province_code"] == str(province)])
    if not codes:
        raise ProvinceError(_("No counties with province code {code} in the official division list.").format(
            code=repr(province)))
    return codes


def county_name(code: str) -> str:
    """The official name of a county code, or ``""`` for an unknown code.

    Examples
    --------
    >>> county_name("330727"), county_name("339999")
    ('磐安县', '')
    """
    t = county_table()
    return str(t.loc[code, "county_name"]) if code in t.index else ""


# --------------------------------------------------------------------------
# Discovery
# --------------------------------------------------------------------------

def layer_sets(folders) -> dict[str, tuple[Path, Path | None]]:
    """County layer sets found in folders: code → (GeoPackage, population raster or None).

    Raises
    ------
    ProvinceError
        For a folder that does not exist, or one county code in two folders.

    Examples
    --------
    >>> from geoplan.layers.sample import layers_dir
    >>> {code: (g.name, p.name) for code, (g, p) in layer_sets([layers_dir()]).items()}
    {'330624': ('330624.gpkg', '330624_population.tif'), '330727': ('330727.gpkg', '330727_population.tif')}
    """
    found: dict[str, tuple[Path, Path | None]] = {}
    for folder in folders:
        d = Path(folder)
        if not d.is_dir():
            raise ProvinceError(_("Layer folder not found: {path}. Give a folder holding <county code>.gpkg files "
                                  "(and <county code>_population.tif), as layers/ does.").format(path=d))
        for gpkg in sorted(d.iterdir()):
            m = _CODE.match(gpkg.name)
            if not m:
                continue
            code = m.group(1)
            if code in found:
                raise ProvinceError(_("County {code} has layers in two folders: {first} and {second}. Keep one of "
                                      "them.").format(code=code, first=found[code][0], second=gpkg))
            tif = d / f"{code}_population.tif"
            found[code] = (gpkg, tif if tif.exists() else None)
    return found


def county_inputs(folders, *, codes=None, plans_dir=None, template=None, year: int | None = None,
                  travel: bool = True) -> tuple[list[CountyInput], list[tuple[str, str]]]:
    """The counties to run, each with its layers and plan.

    Parameters
    ----------
    folders : sequence of path
        Folders of layer sets (``<code>.gpkg`` + ``<code>_population.tif``).
    codes : sequence of str, optional
        Only these counties (all found, by default). A code with no layers
        is reported as missing, not silently dropped.
    plans_dir : path, optional
        Folder of the counties' own plans; these win over the template.
    template : path or str, optional
        Plan template for every county without its own plan: a file, or the
        TOML text itself (such as :data:`SAMPLE_TEMPLATE`).
    year : int, optional
        Year to evaluate (default: each plan's own default year).
    travel : bool
        Evaluate travel-time rules.

    Returns
    -------
    (list of CountyInput, list of (code, reason))
        The counties to run and those that cannot be run (no layers, no plan).

    Raises
    ------
    ProvinceError, PlanError
        No county at all, a bad template or a missing folder.

    Examples
    --------
    >>> from geoplan.layers.sample import layers_dir
    >>> todo, missing = county_inputs([layers_dir()], plans_dir=layers_dir().parent / "plans")
    >>> [c.code for c in todo]
    ['330624', '330727']
    """
    sets = layer_sets(folders)
    tmpl = None
    if isinstance(template, str) and template.lstrip().startswith("["):
        template_source = _("the built-in sample province template")
        tmpl = check_template(tomllib.loads(template), template_source)
    elif template is not None:
        template_source = f"template:{template}"
        tmpl = check_template(read_toml(template), str(template))
    pdir = None
    if plans_dir is not None:
        pdir = Path(plans_dir)
        if not pdir.is_dir():
            raise ProvinceError(_("Plans folder not found: {path}.").format(path=pdir))
    wanted = sorted(sets) if codes is None else list(dict.fromkeys(str(c) for c in codes))
    todo, skipped = [], []
    for code in wanted:
        if code not in sets:
            skipped.append((code, _("no layers for this county ({file} is missing)").format(file=f"{code}.gpkg")))
            continue
        gpkg, tif = sets[code]
        own = find_plan(pdir, code) if pdir is not None else None
        if own is not None:
            try:
                plan, source = read_toml(own), str(own)
            except PlanError as exc:
                skipped.append((code, _("the plan file cannot be read: {error}").format(error=exc)))
                continue
        elif tmpl is not None:
            plan, source = fill_template(tmpl, code, county_name(code)), template_source
        else:
            skipped.append((code, _("no plan file for this county, and no plan template (--plan-template)")))
            continue
        todo.append(CountyInput(code, str(gpkg), None if tif is None else str(tif), plan, source, year, travel,
                                lang=current_language()))
    if not todo and not skipped:
        where = ", ".join(str(f) for f in folders)
        raise ProvinceError(_("No county layer sets (<6-digit code>.gpkg) in {folders}.").format(folders=where))
    return todo, skipped
