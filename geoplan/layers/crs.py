"""Coordinate reference systems: storage, metric work, and GCJ-02.

geoplan stores every layer in CGCS2000 geographic coordinates (EPSG:4490),
the national standard. Lengths, areas and travel distances are measured in
the CGCS2000 3-degree Gauss–Krüger zone whose central meridian is nearest the
data (EPSG:4534 for 75°E … EPSG:4554 for 135°E; EPSG:4549 for 120°E covers
both reference counties).

Chinese web maps (Gaode/Amap, Tencent, the DataV county outlines in
``shared/data``) publish coordinates in GCJ-02, a deliberately obfuscated
datum offset from WGS84/CGCS2000 by up to several hundred metres. GCJ-02 has
no EPSG code and pyproj cannot convert it, so the conversion lives here as
explicit functions; geoplan never applies it silently.

CGCS2000 and WGS84 agree to a few centimetres, far below the accuracy of any
layer geoplan handles, so GCJ-02 conversion treats them as the same datum.

Examples in this module use ``county = gp.load_sample("330624")`` (``import geoplan as gp``); pytest
builds them once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError as _PyprojCRSError

from geoplan.errors import CRSError
from geoplan.i18n import _

STORAGE_EPSG = 4490
STORAGE_CRS = CRS.from_epsg(STORAGE_EPSG)

# Krasovsky 1940 ellipsoid, on which the GCJ-02 offset is defined.
_A = 6378245.0
_EE = 0.00669342162296594323

# The rough mainland bounding box inside which GCJ-02 applies an offset.
# Web-map SDKs use this same box; outside it GCJ-02 equals WGS84.
_CHINA_LON = (72.004, 137.8347)
_CHINA_LAT = (0.8293, 55.8271)


# --------------------------------------------------------------------------
# Choosing and checking CRSs
# --------------------------------------------------------------------------

def gk_zone_epsg(lon: float) -> int:
    """EPSG code of the CGCS2000 3-degree Gauss–Krüger zone for a longitude.

    Parameters
    ----------
    lon : float
        Longitude in degrees east (e.g. the centre of the data).

    Returns
    -------
    int
        EPSG code, 4534 (central meridian 75°E) to 4554 (135°E). These codes
        carry no zone number in the false easting (500 km), which is what
        GIS tools expect.

    Raises
    ------
    CRSError
        If the longitude lies outside the zones defined for China.

    Examples
    --------
    >>> gk_zone_epsg(120.9)
    4549
    """
    if not np.isfinite(lon):
        raise CRSError(_("Cannot choose a Gauss–Krüger zone: the data's longitude is not a number."))
    cm = int(round(lon / 3.0)) * 3
    if not 75 <= cm <= 135:
        raise CRSError(_(
            "Longitude {lon}° is outside China's 3-degree Gauss–Krüger zones "
            "(75°E–135°E). Check that the layer's coordinates are longitude/latitude "
            "in China, or pass an explicit metric CRS."
        ).format(lon=f"{lon:.3f}"))
    return 4534 + (cm - 75) // 3


def metric_crs(gdf) -> CRS:
    """The Gauss–Krüger CRS for metric work on a GeoDataFrame.

    The zone is chosen from the longitude of the centre of the data's bounds.

    Examples
    --------
    >>> metric_crs(county["townships"]).to_epsg()  # 新昌县 lies at 120.9°E
    4549
    """
    require_crs(gdf)
    bounds = storage_bounds(gdf)
    return CRS.from_epsg(gk_zone_epsg((bounds[0] + bounds[2]) / 2.0))


def storage_bounds(gdf) -> np.ndarray:
    """``(minx, miny, maxx, maxy)`` of a GeoDataFrame in EPSG:4490.

    A layer in another CRS has only its envelope transformed (densified
    along its edges), not every vertex: reprojecting 2M road lines to find
    their extent took 5 s. The result then holds the layer's true extent,
    a little wider (the envelope's corners lie outside the layer).

    Examples
    --------
    >>> true = county["townships"].total_bounds
    >>> b = storage_bounds(county["townships"].to_crs(4549))
    >>> bool(b[0] <= true[0] and b[1] <= true[1] and b[2] >= true[2] and b[3] >= true[3])
    True
    >>> bool(abs(b - true).max() < 0.01)  # degrees
    True
    """
    bounds = np.asarray(gdf.total_bounds, dtype=float)
    if gdf.crs.equals(STORAGE_CRS) or not np.isfinite(bounds).all():  # stored, or no geometry at all (NaN)
        return bounds
    from pyproj import Transformer

    return np.asarray(Transformer.from_crs(gdf.crs, STORAGE_CRS, always_xy=True).transform_bounds(
        *bounds, densify_pts=21))


def require_crs(gdf, what: str | None = None) -> CRS:
    """Check a GeoDataFrame has a CRS geoplan can transform; return it.

    Raises
    ------
    CRSError
        With a message saying how to fix it (set the CRS, add a ``.prj``).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> require_crs(county["roads"]).to_epsg()
    4490
    >>> require_crs(gpd.GeoDataFrame(geometry=[shapely.Point(120.9, 29.5)]), "村(社区)层")
    Traceback (most recent call last):
    ...
    geoplan.errors.CRSError: 村(社区)层没有坐标系。请补上 .prj 文件（Shapefile），或明确指定坐标系，如 CGCS2000 经纬度用 crs='EPSG:4490'。
    """
    what = what or _("layer")
    crs = gdf.crs
    if crs is None:
        raise CRSError(_(
            "The {what} has no coordinate reference system. Add a .prj file (Shapefile) "
            "or pass the CRS explicitly, e.g. crs='EPSG:4490' for CGCS2000 longitude/latitude."
        ).format(what=what))
    check_known_crs(crs, what)
    return crs


def check_known_crs(crs, what: str | None = None) -> CRS:
    """Raise :class:`CRSError` unless ``crs`` can be transformed to CGCS2000.

    ``what`` names the thing in the message, in the reader's language (default: "layer").

    Examples
    --------
    >>> check_known_crs("EPSG:4549").name
    'CGCS2000 / 3-degree Gauss-Kruger CM 120E'
    >>> check_known_crs('LOCAL_CS["mine"]')
    Traceback (most recent call last):
    ...
    geoplan.errors.CRSError: 图层使用未知坐标系或独立（地方）坐标系（'mine'），无法换算到 CGCS2000。请在原 GIS 软件中按 CGCS2000（EPSG:4490）或 CGCS2000 高斯–克吕格投影带（EPSG:4534–4554）重新导出。
    """
    what = what or _("layer")
    try:
        crs = CRS.from_user_input(crs)
    except _PyprojCRSError as exc:
        raise CRSError(_("The {what} has a coordinate reference system geoplan cannot read: {error}").format(
            what=what, error=exc)) from exc
    if not (crs.is_geographic or crs.is_projected) or crs.is_engineering:
        raise CRSError(_(
            "The {what} uses an unknown or local coordinate system ({name}) that cannot be "
            "related to CGCS2000. Re-export it from the source GIS in CGCS2000 (EPSG:4490) or a "
            "CGCS2000 Gauss–Krüger zone (EPSG:4534–4554)."
        ).format(what=what, name=repr(crs.name)))
    datum = (crs.datum.name if crs.datum else "") or ""
    if "unknown" in datum.lower() or "not specified" in datum.lower():
        raise CRSError(_(
            "The {what}'s coordinate system {name} has an unknown datum, so its position "
            "on the ground is undefined. Re-export it with a full CRS definition (EPSG code)."
        ).format(what=what, name=repr(crs.name)))
    return crs


def to_storage(gdf):
    """Return ``gdf`` in CGCS2000 geographic coordinates (EPSG:4490).

    Examples
    --------
    >>> m = to_metric(county["townships"])
    >>> m.crs.to_epsg(), to_storage(m).crs.to_epsg()
    (4549, 4490)
    """
    require_crs(gdf)
    return gdf if gdf.crs.equals(STORAGE_CRS) else gdf.to_crs(STORAGE_CRS)


def to_metric(gdf, crs=None):
    """Return ``gdf`` in a metric CRS (by default the data's Gauss–Krüger zone).

    Examples
    --------
    >>> m = to_metric(county["townships"])
    >>> m.crs.to_epsg(), round(m.area.sum() / 1e6)  # 新昌县's area in km²
    (4549, 1220)
    """
    require_crs(gdf)
    target = CRS.from_user_input(crs) if crs is not None else metric_crs(gdf)
    return gdf if gdf.crs.equals(target) else gdf.to_crs(target)


# --------------------------------------------------------------------------
# GCJ-02
# --------------------------------------------------------------------------

def in_china(lon, lat) -> np.ndarray:
    """Boolean mask of points inside the box where GCJ-02 applies an offset.

    Examples
    --------
    >>> in_china([120.9, 2.35], [29.5, 48.86])  # 新昌, Paris
    array([ True, False])
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    return (
        (lon >= _CHINA_LON[0]) & (lon <= _CHINA_LON[1])
        & (lat >= _CHINA_LAT[0]) & (lat <= _CHINA_LAT[1])
    )


def _gcj_delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 minus WGS84, in degrees, at WGS84 positions (zero outside China)."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    pi = np.pi
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = (
        -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x
        + common
        + (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    )
    dlon = (
        300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x
        + common
        + (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    )
    rad_lat = lat / 180.0 * pi
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad_lat) * pi)
    inside = in_china(lon, lat)
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def wgs84_to_gcj02_xy(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Shift WGS84/CGCS2000 longitudes/latitudes to GCJ-02 (vectorised).

    Points outside China are returned unchanged.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02_xy([120.9, 2.35], [29.5, 48.86])
    >>> (lon - [120.9, 2.35]).round(5), (lat - [29.5, 48.86]).round(5)  # shifted in China only
    (array([0.00402, 0.     ]), array([-0.00273,  0.     ]))
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    dlon, dlat = _gcj_delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84_xy(lon, lat, tol_deg: float = 1e-10, max_iter: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Invert GCJ-02 to WGS84/CGCS2000 by fixed-point iteration (vectorised).

    The forward shift is smooth and close to a translation, so iterating
    ``w ← w − (gcj(w) − g)`` converges in a handful of steps. The default
    tolerance (1e-10°, about 0.01 mm) is far inside the 0.1 m the project asks.

    Examples
    --------
    >>> lon, lat = gcj02_to_wgs84_xy(*wgs84_to_gcj02_xy([120.9], [29.5]))
    >>> float(abs(lon[0] - 120.9)) < 1e-9, float(abs(lat[0] - 29.5)) < 1e-9  # round trip
    (True, True)
    """
    g_lon = np.asarray(lon, dtype=float)
    g_lat = np.asarray(lat, dtype=float)
    w_lon, w_lat = g_lon.copy(), g_lat.copy()
    for _step in range(max_iter):
        f_lon, f_lat = wgs84_to_gcj02_xy(w_lon, w_lat)
        e_lon, e_lat = f_lon - g_lon, f_lat - g_lat
        w_lon = w_lon - e_lon
        w_lat = w_lat - e_lat
        err = np.nanmax(np.maximum(np.abs(e_lon), np.abs(e_lat)), initial=0.0)
        if err < tol_deg:
            break
    return w_lon, w_lat


def _shift_geometries(geoms, func):
    def apply(coords: np.ndarray) -> np.ndarray:
        x, y = func(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(np.asarray(geoms), apply)


def gcj02_to_cgcs2000(gdf):
    """Convert a GeoDataFrame whose lon/lat are GCJ-02 to CGCS2000 (EPSG:4490).

    Files from Chinese web maps usually *label* GCJ-02 coordinates as
    EPSG:4326; that label is accepted (and so is no CRS at all), but any
    other CRS is refused because it cannot hold GCJ-02 coordinates.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Geometries in GCJ-02 longitude/latitude.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy in EPSG:4490.

    Examples
    --------
    >>> gcj = cgcs2000_to_gcj02(county["townships"])
    >>> back = gcj02_to_cgcs2000(gcj)
    >>> back.crs.to_epsg(), float(back.geometry.hausdorff_distance(county["townships"].geometry).max()) < 1e-8
    (4490, True)
    """
    _require_lonlat(gdf, _("GCJ-02 input"))
    out = gdf.copy()
    out.geometry = _shift_geometries(gdf.geometry.values, gcj02_to_wgs84_xy)
    return out.set_crs(STORAGE_CRS, allow_override=True)


def cgcs2000_to_gcj02(gdf):
    """Shift a GeoDataFrame to GCJ-02 lon/lat for display on Gaode/Amap tiles.

    The result is labelled EPSG:4326 (what web maps expect), and
    ``attrs['datum'] == 'GCJ-02'`` records that the coordinates are shifted.

    Examples
    --------
    >>> gcj = cgcs2000_to_gcj02(county["villages"])
    >>> gcj.crs.to_epsg(), gcj.attrs["datum"]
    (4326, 'GCJ-02')
    >>> shift = gcj.geometry.x - county["villages"].geometry.x  # GCJ-02 lies east of CGCS2000 here
    >>> round(float(shift.min()), 4), round(float(shift.max()), 4)
    (0.004, 0.0045)
    """
    require_crs(gdf)
    lonlat = gdf.to_crs(4326)
    out = lonlat.copy()
    out.geometry = _shift_geometries(lonlat.geometry.values, wgs84_to_gcj02_xy)
    out.attrs["datum"] = "GCJ-02"
    return out


def _require_lonlat(gdf, what: str) -> None:
    if gdf.crs is None:
        return
    crs = CRS.from_user_input(gdf.crs)
    if not crs.is_geographic:
        raise CRSError(_(
            "The {what} is in a projected CRS ({name}); GCJ-02 coordinates are always "
            "longitude/latitude. Pass the layer as it came from the web map."
        ).format(what=what, name=crs.name))


# --------------------------------------------------------------------------
# Reading a declared CRS by its parameters (not its name)
# --------------------------------------------------------------------------

#: Reference ellipsoids of the Chinese national datums, by semi-major axis (m) and inverse flattening.
#: A CRS's datum is recognised from these numbers, whatever its name says (exports often write
#: "unnamed", "Custom" or a GIS's own label).
ELLIPSOIDS = {
    "CGCS2000": (6378137.0, 298.257222101),
    "WGS84": (6378137.0, 298.257223563),
    "Xian 1980": (6378140.0, 298.257),      # IAG 1975
    "Beijing 1954": (6378245.0, 298.3),     # Krasovsky 1940
}
#: The two old datums geoplan does not convert silently, with their Chinese names.
LEGACY_DATUMS = {"Xian 1980": "西安1980", "Beijing 1954": "北京1954"}

_PARAM_CODES = {"8802": "central_meridian", "8806": "false_easting", "8805": "scale", "8807": "false_northing",
                "8801": "latitude_of_origin"}
_PARAM_NAMES = {"longitude of natural origin": "central_meridian", "central_meridian": "central_meridian",
                "false easting": "false_easting", "false_easting": "false_easting",
                "scale factor at natural origin": "scale", "scale_factor": "scale",
                "false northing": "false_northing", "false_northing": "false_northing",
                "latitude of natural origin": "latitude_of_origin", "latitude_of_origin": "latitude_of_origin"}


def datum_family(crs) -> str | None:
    """Which national datum a CRS is on, read from its ellipsoid's numbers (not its name).

    Returns ``"CGCS2000"``, ``"WGS84"``, ``"Xian 1980"``, ``"Beijing 1954"`` or ``None`` (another ellipsoid).
    CGCS2000 and WGS84 differ only in the inverse flattening (298.257222101 against 298.257223563).

    Examples
    --------
    >>> datum_family(CRS.from_epsg(2385)), datum_family(CRS.from_epsg(4528)), datum_family(CRS.from_epsg(32651))
    ('Xian 1980', 'CGCS2000', 'WGS84')
    """
    ell = CRS.from_user_input(crs).ellipsoid
    if ell is None:
        return None
    a, inv_f = float(ell.semi_major_metre), float(ell.inverse_flattening or 0.0)
    for name, (ea, ef) in ELLIPSOIDS.items():
        if abs(a - ea) < 0.5 and abs(inv_f - ef) < (1e-8 if ea == 6378137.0 else 1e-3):
            return name
    return None


def projection_parameters(crs) -> dict | None:
    """The Transverse Mercator (Gauss–Krüger) parameters of a projected CRS, or ``None`` for any other.

    Returns
    -------
    dict or None
        ``datum`` (:func:`datum_family`), ``central_meridian`` (°E), ``false_easting`` and
        ``false_northing`` (m), ``scale``, and ``zone``: the zone number carried in the false easting
        (``40`` for 40 500 000 m) or ``None`` when the false easting is the plain 500 000 m.

    Examples
    --------
    >>> p = projection_parameters(CRS.from_epsg(4528))
    >>> p["central_meridian"], p["false_easting"], p["zone"], p["datum"]
    (120.0, 40500000.0, 40, 'CGCS2000')
    """
    c = CRS.from_user_input(crs)
    op = c.coordinate_operation if c.is_projected else None
    if op is None or "transverse mercator" not in (op.method_name or "").lower().replace("_", " "):
        return None
    out = {"datum": datum_family(c), "central_meridian": 0.0, "false_easting": 0.0, "false_northing": 0.0,
           "scale": 1.0, "latitude_of_origin": 0.0}
    for p in op.params:
        key = _PARAM_CODES.get(str(p.code or "")) or _PARAM_NAMES.get((p.name or "").lower())
        if key is not None:
            out[key] = float(p.value)
    fe = out["false_easting"]
    zone = int(fe // 1_000_000) if fe >= 1_000_000 else None
    out["zone"] = zone if zone is not None and abs(fe - zone * 1_000_000 - 500_000) < 1e-6 else None
    return out


def zone_central_meridian(zone: int) -> tuple[float, bool]:
    """Central meridian of a Gauss–Krüger zone number, and whether it is a 6-degree zone (13–23) or 3-degree (25–45).

    >>> zone_central_meridian(40), zone_central_meridian(20)
    ((120.0, False), (117.0, True))
    """
    if 13 <= zone <= 23:
        return float(zone * 6 - 3), True
    if 25 <= zone <= 45:
        return float(zone * 3), False
    raise CRSError(_("{zone} is not a Gauss–Krüger zone number used in China (6-degree zones 13–23, "
                     "3-degree zones 25–45).").format(zone=zone))


def gauss_kruger_crs(zone: int, *, prefixed: bool = True, base=None) -> CRS:
    """The Gauss–Krüger CRS of a zone, on ``base``'s datum (default CGCS2000), with or without the zone prefix.

    On CGCS2000 the EPSG code is returned (4513–4533 / 4534–4554 for 3-degree zones, 4491–4501 /
    4502–4512 for 6-degree ones); on another datum, ``base`` with its central meridian and false easting set.

    Examples
    --------
    >>> gauss_kruger_crs(40).to_epsg(), gauss_kruger_crs(40, prefixed=False).to_epsg(), gauss_kruger_crs(20).to_epsg()
    (4528, 4549, 4498)
    """
    cm, six = zone_central_meridian(zone)
    fe = zone * 1_000_000 + 500_000 if prefixed else 500_000
    if base is None or datum_family(base) == "CGCS2000":
        if six:
            return CRS.from_epsg((4491 if prefixed else 4502) + zone - 13)
        return CRS.from_epsg((4513 if prefixed else 4534) + zone - 25)
    d = CRS.from_user_input(base).to_json_dict()
    for par in d["conversion"]["parameters"]:
        key = _PARAM_CODES.get(str(par.get("id", {}).get("code", ""))) or _PARAM_NAMES.get(par["name"].lower())
        if key == "false_easting":
            par["value"] = fe
        elif key == "central_meridian":
            par["value"] = cm
    d["name"] = f"{CRS.from_user_input(base).name} (zone {zone}{' prefix in false easting' if prefixed else ''})"
    d.pop("id", None)
    return CRS.from_json_dict(d)
