"""The bundled sample counties and loading a whole county's layers at once.

The samples live in ``layers/`` at the project root (``layers/<code>.gpkg``
and ``layers/<code>_population.tif``, built by :mod:`geoplan.layers.samplebuild`
through ``scripts/build_sample_layers.py``); set ``GEOPLAN_LAYERS`` to use another
folder. ``geoplan sample build CODE --out DIR`` builds any other county of Zhejiang,
and :func:`load_county` reads it. They mix real parts (names, codes, county outlines, census totals)
with illustrative ones (township polygons, roads, facilities …); each
GeoPackage says which is which in its ``provenance`` table.

Examples in this module use ``county = gp.load_sample("330624")`` (``import geoplan as gp``); pytest
builds them once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from geoplan.errors import DataFileError
from geoplan.i18n import _
from geoplan.layers.io import PopulationRaster, list_layers, read_layer, read_population
from geoplan.layers.schema import SCHEMAS

SAMPLE_COUNTIES = {"330624": "新昌县", "330727": "磐安县"}
DEFAULT_COUNTY = "330624"

# Townships first: their codes are what the other layers are checked against.
LOAD_ORDER = ["townships"] + [k for k in SCHEMAS if k != "townships"]


def layers_dir() -> Path:
    """Folder holding the sample layers (``$GEOPLAN_LAYERS`` or ``<project>/layers``).

    Examples
    --------
    >>> sorted(p.name for p in layers_dir().glob("*.gpkg"))
    ['330624.gpkg', '330727.gpkg']
    """
    env = os.environ.get("GEOPLAN_LAYERS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "layers"


def sample_paths(county: str = DEFAULT_COUNTY) -> tuple[Path, Path]:
    """Paths of a sample county's GeoPackage and population raster.

    Raises
    ------
    DataFileError
        If the county is not a bundled sample or its files are missing.

    Examples
    --------
    >>> [p.name for p in sample_paths("330727")]
    ['330727.gpkg', '330727_population.tif']
    >>> sample_paths("110101")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geoplan.errors.DataFileError: .../layers 中没有县 110101 的示例图层。自带的示例：330624 (新昌县)、330727 (磐安县)。浙江省任一县都可以用 geoplan sample build <县代码> --out <文件夹> 生成，再用 geoplan.layers.sample.load_county(<文件夹>/<代码>.gpkg) 读取。
    """
    county = str(county)
    folder = layers_dir()
    gpkg, tif = folder / f"{county}.gpkg", folder / f"{county}_population.tif"
    if not gpkg.exists():
        known = _(", ").join(f"{c} ({n})" for c, n in SAMPLE_COUNTIES.items())
        raise DataFileError(_(
            "No sample layers for county {county} in {folder}. Bundled samples: {known}. "
            "Build any county of Zhejiang with: geoplan sample build <county code> --out <folder>, "
            "then load it with geoplan.layers.sample.load_county(<folder>/<code>.gpkg)."
        ).format(county=county, folder=folder, known=known))
    return gpkg, tif


@dataclass
class County:
    """All layers of one county, validated.

    Attributes
    ----------
    code, name : str
        6-digit county code and name.
    layers : dict of str to GeoDataFrame
        Schema layers by kind (only those present in the source).
    outline : GeoDataFrame
        The county outline (one row).
    neighbours : GeoDataFrame
        Counties sharing a boundary with it.
    population : PopulationRaster or None
    provenance : DataFrame
        Which parts are real and which illustrative.

    Examples
    --------
    >>> county.code, county.name, len(county["townships"]), len(county["villages"])
    ('330624', '新昌县', 12, 292)
    >>> county["wells"]
    Traceback (most recent call last):
    ...
    geoplan.errors.DataFileError: 县 330624 没有 'wells' 图层；已有的图层：townships、villages、elderly_care、cemeteries、social_work_stations、disability_homes、children_homes、roads、boundary_lines、boundary_markers、place_names。
    """

    code: str
    name: str
    layers: dict[str, gpd.GeoDataFrame]
    outline: gpd.GeoDataFrame | None = None
    neighbours: gpd.GeoDataFrame | None = None
    population: PopulationRaster | None = None
    provenance: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __getitem__(self, kind: str) -> gpd.GeoDataFrame:
        try:
            return self.layers[kind]
        except KeyError:
            raise DataFileError(_("County {code} has no '{kind}' layer; it has: {layers}.").format(
                code=self.code, kind=kind, layers=_(", ").join(self.layers))) from None


def load_county(gpkg, population=None) -> County:
    """Read and validate every known layer of a county GeoPackage.

    Parameters
    ----------
    gpkg : str or Path
        GeoPackage whose layers are named by kind (``townships``, ``roads`` …),
        optionally with ``county``, ``neighbours`` and ``provenance`` tables.
    population : str or Path, optional
        Population GeoTIFF.

    Returns
    -------
    County

    Raises
    ------
    geoplan.errors.GeoplanError
        The first layer that fails, with all its problems.

    Examples
    --------
    >>> c = load_county(sample_paths("330727")[0])
    >>> c.name, len(c["townships"]), c.population is None
    ('磐安县', 14, True)
    """
    names = set(list_layers(gpkg))
    layers: dict[str, gpd.GeoDataFrame] = {}
    codes = None
    for kind in LOAD_ORDER:
        if kind in names:
            layers[kind] = read_layer(gpkg, kind, layer=kind, townships=codes)
            if kind == "townships":
                codes = set(layers[kind]["code"])
    outline = gpd.read_file(gpkg, layer="county", engine="pyogrio") if "county" in names else None
    neighbours = gpd.read_file(gpkg, layer="neighbours", engine="pyogrio") if "neighbours" in names else None
    provenance = (pyogrio.read_dataframe(gpkg, layer="provenance", read_geometry=False)
                  if "provenance" in names else pd.DataFrame())
    if outline is not None and len(outline):
        code, name = str(outline["adcode"].iloc[0]), str(outline["name"].iloc[0])
    elif "townships" in layers:
        code, name = str(layers["townships"]["county_code"].iloc[0]), ""
    else:
        code, name = Path(gpkg).stem, ""
    raster = read_population(population) if population is not None else None
    return County(code, name, layers, outline, neighbours, raster, provenance)


def load_sample(county: str = DEFAULT_COUNTY) -> County:
    """Load a bundled sample county (``"330624"`` 新昌县 or ``"330727"`` 磐安县).

    Examples
    --------
    >>> c = load_sample("330727")
    >>> c.name, int(c["townships"]["population"].sum()), len(c["villages"])
    ('磐安县', 177100, 236)
    """
    gpkg, tif = sample_paths(county)
    return load_county(gpkg, tif if tif.exists() else None)
