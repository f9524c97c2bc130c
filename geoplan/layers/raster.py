"""The population raster: a GeoTIFF of persons per cell, read and checked.

:func:`read_population` opens a single-band GeoTIFF in a known metric CRS and
refuses negative or non-finite cells (naming the first such cell);
:class:`PopulationRaster` holds the cells with their geotransform and CRS.
Vector and table layers are read in :mod:`geoplan.layers.io` (which re-exports
these names); a raster is written by
:func:`geoplan.layers.dasymetric.write_population_raster`.

Examples in this module use ``county = gp.load_sample("330624")``
(``import geoplan as gp``); pytest builds it once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from geoplan.errors import CRSError, DataFileError, Problem, ValidationError
from geoplan.i18n import _, ngettext
from geoplan.layers import crs as _crs
# io does not import this module at load time (its re-export is lazy), so this is no cycle
from geoplan.layers.io import _check_file, _unreadable

__all__ = ["PopulationRaster", "read_population"]

@dataclass
class PopulationRaster:
    """Persons per cell, with the grid's geotransform and CRS.

    Attributes
    ----------
    data : numpy.ndarray
        2-D float array of persons per cell; nodata cells are 0.
    transform : affine.Affine
        Maps (col, row) to CRS coordinates of the cell's upper-left corner.
    crs : pyproj.CRS
        A metric CRS (the Gauss–Krüger zone of the county).
    source : str
        File it came from.

    Examples
    --------
    >>> pop = county.population  # a PopulationRaster
    >>> pop.data.shape, pop.cell_area_m2, pop.crs.to_epsg()
    ((372, 519), 10000.0, 4549)
    >>> round(pop.total), len(pop.cell_centres())
    (419036, 93383)
    """

    data: np.ndarray
    transform: object
    crs: CRS
    source: str = ""

    @property
    def total(self) -> float:
        return float(self.data.sum())

    @property
    def cell_area_m2(self) -> float:
        return abs(self.transform.a * self.transform.e)

    def cell_centres(self, min_value: float = 0.0) -> gpd.GeoDataFrame:
        """Cells holding more than ``min_value`` persons, as points at their centres."""
        rows, cols = np.nonzero(self.data > min_value)
        t = self.transform
        xs = t.c + (cols + 0.5) * t.a + (rows + 0.5) * t.b
        ys = t.f + (cols + 0.5) * t.d + (rows + 0.5) * t.e
        return gpd.GeoDataFrame(
            {"cell_id": rows.astype(np.int64) * self.data.shape[1] + cols,
             "row": rows, "col": cols, "population": self.data[rows, cols]},
            geometry=shapely.points(xs, ys), crs=self.crs,
        )


def read_population(path) -> PopulationRaster:
    """Read and validate a population raster (GeoTIFF, persons per cell).

    Raises
    ------
    DataFileError, CRSError, ValidationError
        Unreadable file, no/unknown CRS, several bands, negative or
        non-finite values.

    Examples
    --------
    >>> from geoplan.layers.sample import sample_paths
    >>> pop = read_population(sample_paths("330624")[1])
    >>> round(pop.total), pop.transform.a  # persons, cell size in metres
    (419036, 100.0)
    """
    import rasterio
    from rasterio.errors import RasterioIOError

    p = _check_file(path)
    try:
        with rasterio.open(p) as src:
            if src.count != 1:
                raise DataFileError(_("{path} has {count} bands; a population raster has exactly one.").format(
                    path=p, count=src.count))
            data = src.read(1, masked=True)
            transform, raster_crs = src.transform, src.crs
    except RasterioIOError as exc:
        raise _unreadable(p, exc) from exc
    if raster_crs is None:
        raise CRSError(_("{path} has no coordinate reference system. Assign one in your GIS (e.g. EPSG:4549).").format(
            path=p))
    crs = _crs.check_known_crs(raster_crs.to_wkt(), _("raster {path}").format(path=p))
    values = np.ma.filled(data.astype("float64"), 0.0)
    problems = []
    nonfinite = ~np.isfinite(values)
    negative = values < 0
    what = {"nonfinite": lambda n: ngettext("{n} cell is not a finite number",
                                            "{n} cells are not a finite number", n),
            "negative": lambda n: ngettext("{n} cell is negative", "{n} cells are negative", n)}
    for mask, key in ((nonfinite, "nonfinite"), (negative, "negative")):
        if mask.any():
            r, c = np.argwhere(mask)[0]
            n = int(mask.sum())
            problems.append(Problem(
                str(p), None, _("cell row {row}, column {col}").format(row=r + 1, col=c + 1), "persons",
                _show_num(values[r, c]), what[key](n).format(n=n),
                _("persons per cell must be 0 or more; set the raster's nodata value for cells outside the area"),
            ))
    if problems:
        raise ValidationError(problems)
    return PopulationRaster(values, transform, crs, str(p))


def _show_num(v: float) -> str:
    return f"{v:g}"
