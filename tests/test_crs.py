"""CRS handling: Gauss–Krüger zones, storage CRS, GCJ-02 both ways."""

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS, Transformer

from geoplan.layers import crs
from geoplan import i18n
from geoplan.errors import CRSError


@pytest.fixture(autouse=True)
def english():
    """These tests match the English texts; tests/test_i18n_layers.py checks the Chinese ones."""
    i18n.set_language("en")
    yield
    i18n.set_language(None)

# Published test vectors of the GCJ-02 algorithm (WGS84 lat, lon -> GCJ-02 lat, lon), the ones every
# open implementation (eviltransform and its ports) checks itself against.
VECTORS = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]


@pytest.mark.parametrize("wlat, wlon, glat, glon", VECTORS)
def test_gcj02_matches_published_vectors(wlat, wlon, glat, glon):
    x, y = crs.wgs84_to_gcj02_xy(wlon, wlat)
    assert x == pytest.approx(glon, abs=1e-9) and y == pytest.approx(glat, abs=1e-9)
    back_x, back_y = crs.gcj02_to_wgs84_xy(glon, glat)
    assert back_x == pytest.approx(wlon, abs=1e-9) and back_y == pytest.approx(wlat, abs=1e-9)


def _metres(lon1, lat1, lon2, lat2):
    geod = CRS.from_epsg(4490).get_geod()
    return geod.inv(lon1, lat1, lon2, lat2)[2]


@settings(max_examples=300, deadline=None)
@given(st.floats(73.7, 134.9), st.floats(18.2, 53.5))
def test_gcj02_round_trip_within_a_tenth_of_a_metre_over_china(lon, lat):
    gx, gy = crs.wgs84_to_gcj02_xy(lon, lat)
    wx, wy = crs.gcj02_to_wgs84_xy(gx, gy)
    assert np.all(np.abs(_metres(lon, lat, wx, wy)) < 0.1)


def test_round_trip_on_a_dense_grid_vectorised():
    lon, lat = np.meshgrid(np.linspace(73.7, 134.9, 300), np.linspace(18.2, 53.5, 300))
    gx, gy = crs.wgs84_to_gcj02_xy(lon, lat)
    wx, wy = crs.gcj02_to_wgs84_xy(gx, gy)
    err = _metres(lon.ravel(), lat.ravel(), wx.ravel(), wy.ravel())
    assert np.max(np.abs(err)) < 0.1
    shift = _metres(lon.ravel(), lat.ravel(), gx.ravel(), gy.ravel())
    assert 100 < np.median(shift) < 1000  # GCJ-02 really shifts by hundreds of metres


def test_gcj02_is_identity_outside_china():
    pts = np.array([[139.6917, 35.6895], [2.35, 48.85], [-74.0, 40.7]])  # Tokyo, Paris, New York
    x, y = crs.wgs84_to_gcj02_xy(pts[:, 0], pts[:, 1])
    assert np.array_equal(x, pts[:, 0]) and np.array_equal(y, pts[:, 1])
    x, y = crs.gcj02_to_wgs84_xy(pts[:, 0], pts[:, 1])
    assert np.array_equal(x, pts[:, 0]) and np.array_equal(y, pts[:, 1])


def test_geodataframe_conversion_round_trip_all_geometry_types():
    g = gpd.GeoDataFrame(
        {"name": ["pt", "line", "poly"]},
        geometry=[shapely.Point(120.9, 29.5),
                  shapely.LineString([(120.8, 29.4), (121.0, 29.6)]),
                  shapely.box(120.7, 29.2, 121.2, 29.5)],
        crs=4490,
    )
    gcj = crs.cgcs2000_to_gcj02(g)
    assert gcj.attrs["datum"] == "GCJ-02" and gcj.crs.to_epsg() == 4326
    back = crs.gcj02_to_cgcs2000(gcj)
    assert back.crs.to_epsg() == 4490
    for a, b in zip(g.geometry, back.geometry):
        assert shapely.equals_exact(a, b, tolerance=1e-8)
    moved = g.to_crs(4549).hausdorff_distance(gcj.set_crs(4490, allow_override=True).to_crs(4549))
    assert (moved > 100).all()


def test_gcj02_refuses_projected_input():
    g = gpd.GeoDataFrame(geometry=[shapely.Point(500000, 3260000)], crs=4549)
    with pytest.raises(CRSError, match="projected"):
        crs.gcj02_to_cgcs2000(g)


@pytest.mark.parametrize("lon, epsg", [(120.9, 4549), (118.0, 4548), (118.4, 4548), (118.6, 4549), (75.2, 4534), (134.9, 4554), (121.49, 4549)])
def test_gauss_kruger_zone(lon, epsg):
    assert crs.gk_zone_epsg(lon) == epsg
    cm = next(p.value for p in CRS.from_epsg(epsg).coordinate_operation.params if "longitude" in p.name.lower())
    assert abs(cm - lon) <= 1.5


def test_gauss_kruger_zone_outside_china():
    with pytest.raises(CRSError, match="outside China"):
        crs.gk_zone_epsg(10.0)


def test_to_metric_and_back():
    g = gpd.GeoDataFrame(geometry=[shapely.box(120.7, 29.2, 121.2, 29.5)], crs=4326)
    m = crs.to_metric(g)
    assert m.crs.to_epsg() == 4549
    # Same area as the equal-area reference within 0.1 % (GK scale error is tiny near the meridian)
    ea = g.to_crs("+proj=aea +lat_1=25 +lat_2=47 +lon_0=120 +ellps=GRS80").area.iloc[0]
    assert m.area.iloc[0] == pytest.approx(ea, rel=1e-3)
    s = crs.to_storage(m)
    assert s.crs.to_epsg() == 4490 and shapely.equals_exact(s.geometry.iloc[0], g.geometry.iloc[0], 1e-7)


def test_require_crs_messages():
    with pytest.raises(CRSError, match="no coordinate reference system"):
        crs.require_crs(gpd.GeoDataFrame(geometry=[shapely.Point(1, 1)]))
    local = 'LOCAL_CS["grid",LOCAL_DATUM["x",0],UNIT["metre",1],AXIS["X",EAST],AXIS["Y",NORTH]]'
    with pytest.raises(CRSError, match="unknown or local"):
        crs.check_known_crs(local)


def test_storage_crs_transform_matches_pyproj():
    t = Transformer.from_crs(4490, 4549, always_xy=True)
    g = gpd.GeoDataFrame(geometry=[shapely.Point(120.9, 29.5)], crs=4490)
    x, y = t.transform(120.9, 29.5)
    p = crs.to_metric(g).geometry.iloc[0]
    assert (p.x, p.y) == pytest.approx((x, y))


# ---------------------------------------------------------------- reading a declared CRS by its parameters
def _renamed(epsg: int, name: str = "unnamed") -> CRS:
    """The CRS of ``epsg`` with every name (CRS, datum, ellipsoid) replaced, as some exports write them."""
    d = CRS.from_epsg(epsg).to_json_dict()
    d["name"] = name
    d.pop("id", None)
    base = d["base_crs"]
    base["name"] = name
    base.pop("id", None)
    datum = base.get("datum") or base.get("datum_ensemble")
    datum["name"] = "D_" + name
    datum.pop("id", None)
    datum["ellipsoid"]["name"] = "E_" + name
    datum["ellipsoid"].pop("id", None)
    d["conversion"]["name"] = name
    d["conversion"].pop("id", None)
    return CRS.from_json_dict(d)


@pytest.mark.parametrize("epsg, family, cm, zone", [
    (4528, "CGCS2000", 120, 40), (4549, "CGCS2000", 120, None), (4498, "CGCS2000", 117, 20),
    (2385, "Xian 1980", 120, None), (2364, "Xian 1980", 120, 40),
    (2437, "Beijing 1954", 120, None), (2415, "Beijing 1954", 117, 39),
])
def test_projection_parameters_not_names(epsg, family, cm, zone):
    for c in (CRS.from_epsg(epsg), _renamed(epsg), CRS.from_wkt(CRS.from_epsg(epsg).to_wkt("WKT1_ESRI"))):
        p = crs.projection_parameters(c)
        assert p["datum"] == family and p["central_meridian"] == cm and p["zone"] == zone and p["scale"] == 1.0
    assert "unnamed" in _renamed(epsg).name and "Xian" not in _renamed(epsg).datum.name


def test_detection_of_renamed_legacy_and_prefixed_crs():
    from geoplan.layers.wsread import detect_crs, legacy_datum

    prefixed = (40_480_000, 3_250_000, 40_520_000, 3_290_000)
    # A Xian 1980 zone without prefix whose names say nothing: the ellipsoid (IAG 1975) tells.
    xian = _renamed(2385)
    real, notes = detect_crs(prefixed, xian, "x.shp")
    assert legacy_datum(real) == "西安1980" and crs.projection_parameters(real)["zone"] == 40 and notes
    # and the corrected CRS puts the points where the EPSG zone-40 Xian CRS does
    a = Transformer.from_crs(real, 4326, always_xy=True).transform(40_500_000, 3_270_000)
    b = Transformer.from_crs(2364, 4326, always_xy=True).transform(40_500_000, 3_270_000)
    assert a == pytest.approx(b, abs=1e-9)
    assert legacy_datum(_renamed(2437)) == "北京1954" and legacy_datum(_renamed(4549)) is None
    # a declared zone prefix must fit the coordinates and its own central meridian
    assert detect_crs(prefixed, _renamed(4528), "x")[0].equals(_renamed(4528))
    with pytest.raises(CRSError):
        detect_crs((480_000, 3.25e6, 520_000, 3.29e6), CRS.from_epsg(4528), "x")  # prefix declared, absent
    with pytest.raises(CRSError):
        detect_crs((39_480_000, 3.25e6, 39_520_000, 3.29e6), CRS.from_epsg(4528), "x")  # zone 39 ≠ 40
    # not Gauss–Krüger (UTM): taken as declared
    assert detect_crs((300_000, 3.25e6, 340_000, 3.29e6), CRS.from_epsg(32651), "x")[0].to_epsg() == 32651


def test_gauss_kruger_crs_matches_epsg():
    # every CGCS2000 zone, with and without prefix, against EPSG's own definition of the same zone
    for zone in list(range(13, 24)) + list(range(25, 46)):
        for prefixed in (True, False):
            c = crs.gauss_kruger_crs(zone, prefixed=prefixed)
            p = crs.projection_parameters(c)
            cm, six = crs.zone_central_meridian(zone)
            assert p["central_meridian"] == cm and p["datum"] == "CGCS2000"
            assert p["false_easting"] == (zone * 1_000_000 + 500_000 if prefixed else 500_000)
            # the same map as a Transverse Mercator written out by hand from the zone's definition
            fe = zone * 1_000_000 + 500_000 if prefixed else 500_000
            hand = CRS.from_proj4(f"+proj=tmerc +lat_0=0 +lon_0={cm} +k=1 +x_0={fe} +y_0=0 +ellps=GRS80 +units=m")
            lon = cm + 0.7
            got = Transformer.from_crs(4490, c, always_xy=True).transform(lon, 30.0)
            want = Transformer.from_crs("+proj=longlat +ellps=GRS80", hand, always_xy=True).transform(lon, 30.0)
            assert got == pytest.approx(want, abs=1e-3)
    # on another datum: the base's ellipsoid kept, the zone's parameters set
    x = crs.gauss_kruger_crs(40, base=CRS.from_epsg(2385))
    assert crs.datum_family(x) == "Xian 1980" and crs.projection_parameters(x)["false_easting"] == 40_500_000
