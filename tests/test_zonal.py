"""Zonal sums with exact partial-cell coverage, and areal interpolation."""

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine
from pyproj import CRS

from geoplan.errors import CRSError
from geoplan.layers.io import PopulationRaster, read_population
from geoplan.coverage.zonal import ZonalError, areal_interpolate, coverage_fractions, zonal_stats, zonal_sum

GK = CRS.from_epsg(4549)
LAYERS = Path(__file__).resolve().parent.parent / "layers"


def star(rng, cx, cy, r_min, r_max, n=None):
    n = n or int(rng.integers(3, 30))
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = rng.uniform(r_min, r_max, n)
    return np.column_stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)])


def random_polygon(rng, x0, y0, w, h):
    """Valid star-shaped polygons, some with a hole, some multipart, some hanging over the raster edge."""
    while True:
        poly = _random_polygon(rng, x0, y0, w, h)
        if poly.is_valid:
            return poly


def _random_polygon(rng, x0, y0, w, h):
    cx, cy = x0 + rng.uniform(-0.1, 1.1) * w, y0 + rng.uniform(-0.1, 1.1) * h
    r = rng.uniform(0.02, 0.4) * min(w, h)
    shell = star(rng, cx, cy, 0.5 * r, r)
    kind = rng.integers(0, 3)
    if kind == 0:
        return shapely.Polygon(shell)
    if kind == 1:
        return shapely.Polygon(shell, [star(rng, cx, cy, 0.1 * r, 0.45 * r)])
    other = shapely.Polygon(star(rng, cx + 2.5 * r, cy, 0.3 * r, 0.6 * r))
    return shapely.MultiPolygon([shapely.Polygon(shell), other])


def random_raster(rng, rotated=False, north_up=False):
    rows, cols = int(rng.integers(5, 40)), int(rng.integers(5, 40))
    a, e = rng.uniform(50, 150), -rng.uniform(50, 150)
    if rng.random() < 0.2 and not north_up:
        e = -e  # south-up grids exist too
    b = d = 0.0
    if rotated:
        b, d = rng.uniform(-20, 20), rng.uniform(-20, 20)
    t = Affine(a, b, 500000 + rng.uniform(0, 1000), d, e, 3300000 + rng.uniform(0, 1000))
    data = rng.gamma(0.5, 40, (rows, cols))
    data[rng.random((rows, cols)) < 0.3] = 0.0
    return PopulationRaster(data, t, GK)


def apply(t, col, row):
    return t.a * col + t.b * row + t.c, t.d * col + t.e * row + t.f


def cell_polygons(raster):
    rows, cols = raster.data.shape
    t = raster.transform
    r, c = np.mgrid[0:rows, 0:cols]
    corners = [(c, r), (c + 1, r), (c + 1, r + 1), (c, r + 1)]
    xy = [apply(t, cc, rr) for cc, rr in corners]
    ring = np.stack([np.stack([x, y], axis=-1) for x, y in xy], axis=2)  # rows, cols, 4, 2
    return shapely.polygons(ring.reshape(-1, 4, 2)).reshape(rows, cols)


def brute_force(polys, raster):
    """Per-cell shapely intersection areas over every cell."""
    cells = cell_polygons(raster)
    cell_area = shapely.area(cells)
    sums = []
    for p in polys:
        frac = shapely.area(shapely.intersection(p, cells)) / cell_area
        sums.append((frac * raster.data).sum())
    return np.array(sums)


def raster_extent(raster):
    rows, cols = raster.data.shape
    t = raster.transform
    return shapely.Polygon([apply(t, 0, 0), apply(t, cols, 0), apply(t, cols, rows), apply(t, 0, rows)])


def require_compiled():
    """Skip where the compiled sums were not built: test_the_compiled_sums_are_built fails there instead."""
    from geoplan.coverage import cellpieces

    if cellpieces._cellsums is None:
        pytest.skip("geoplan.coverage._cellsums was not built (test_the_compiled_sums_are_built fails)")


def test_the_compiled_sums_are_built():
    """pip install builds them where a C compiler is present (the install script provides one); without
    them geoplan runs on the numpy version, correct but two to three times slower."""
    from geoplan.coverage import cellpieces

    assert cellpieces._cellsums is not None, (
        "geoplan.coverage._cellsums was not built: install gcc and python3-dev "
        "(scripts/install_system_packages.sh), then pip install -e . again")


@pytest.fixture(params=["compiled", "auto", "prefix", "runs"])
def engine(request, monkeypatch):
    """The compiled sums (``_cellsums``), and the numpy version with both of its ways of summing a row
    left of a piece (prefix sums, runs between sorted pieces) and its automatic choice between them."""
    import geoplan.coverage.cellpieces as cellpieces

    if request.param == "compiled":
        require_compiled()
    else:
        monkeypatch.setattr(cellpieces, "_cellsums", None)
    if request.param in ("prefix", "runs"):
        monkeypatch.setattr(cellpieces, "_RUNS_OVER_PREFIX", np.inf if request.param == "prefix" else -1)
    return request.param


@pytest.mark.parametrize("seed", range(25))
def test_zonal_sums_equal_brute_force_cell_intersection(seed, engine):
    rng = np.random.default_rng(seed)
    raster = random_raster(rng, rotated=seed % 5 == 4)
    x0, y0, x1, y1 = raster_extent(raster).bounds
    polys = [random_polygon(rng, x0, y0, x1 - x0, y1 - y0) for _ in range(6)]
    gdf = gpd.GeoDataFrame({"pid": [f"p{i}" for i in range(6)]}, geometry=polys, crs=GK)
    got = zonal_stats(gdf, raster, "pid")
    expected = brute_force(polys, raster)
    assert np.allclose(got["sum"].to_numpy(), expected, rtol=1e-9, atol=1e-6)
    inside = shapely.area(shapely.intersection(shapely.GeometryCollection(polys).geoms, raster_extent(raster)))
    assert np.allclose(got["area_m2"].to_numpy(), inside, rtol=1e-9, atol=1e-3)
    assert list(got.index) == list(gdf["pid"])


@pytest.fixture(params=["inline", "background"])
def validity_check(request, monkeypatch):
    """Validity checked before the sums (small layers) or on a worker thread while they are computed (large ones)."""
    import geoplan.coverage.zonal as zonal

    monkeypatch.setattr(zonal, "_VALIDITY_IN_BACKGROUND", np.inf if request.param == "inline" else 0)
    return request.param


def test_self_intersecting_polygons_are_repaired_not_double_counted(validity_check):
    raster = PopulationRaster(np.ones((10, 10)), Affine(1, 0, 0, 0, -1, 10), GK)
    bowtie = shapely.Polygon([(1, 1), (5, 5), (5, 1), (1, 5)])  # two triangles of area 4 each
    z = zonal_stats(gpd.GeoDataFrame(geometry=[bowtie], crs=GK), raster)
    assert z["sum"].iloc[0] == pytest.approx(8.0)


@pytest.mark.parametrize("seed", range(5))
def test_invalid_polygons_among_valid_ones_equal_their_repaired_form(seed, validity_check):
    """Invalid polygons (bow-ties, rings crossing themselves) are summed as ``make_valid`` repairs them,
    whether validity is checked before the sums or beside them; the valid ones are untouched."""
    rng = np.random.default_rng(300 + seed)
    raster = random_raster(rng)
    x0, y0, x1, y1 = raster_extent(raster).bounds
    polys = [random_polygon(rng, x0, y0, x1 - x0, y1 - y0) for _ in range(4)]
    # Shuffled star vertices: rings that cross themselves.
    for _ in range(3):
        pts = star(rng, rng.uniform(x0, x1), rng.uniform(y0, y1), 0.05 * (x1 - x0), 0.3 * (x1 - x0), n=12)
        polys.insert(int(rng.integers(0, len(polys) + 1)), shapely.Polygon(rng.permutation(pts)))
    assert not all(shapely.is_valid(polys))
    got = zonal_stats(gpd.GeoDataFrame(geometry=polys, crs=GK), raster)["sum"].to_numpy()
    repaired = [p if p.is_valid else shapely.make_valid(p, method="structure", keep_collapsed=False) for p in polys]
    assert np.allclose(got, brute_force(repaired, raster), rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("runs_over_prefix", [10, np.inf, -1])
def test_weighted_sums_by_segments_equal_sums_piece_by_piece(seed, runs_over_prefix, monkeypatch):
    """The segments boundary_pieces returns only save lookups: given the pieces alone (each a segment
    of its own), weighted_sums gives the same sums (numpy's automatic choice, prefix sums, runs)."""
    import geoplan.coverage.cellpieces as cellpieces
    from geoplan.coverage.cellpieces import boundary_pieces, weighted_sums

    monkeypatch.setattr(cellpieces, "_RUNS_OVER_PREFIX", runs_over_prefix)

    rng = np.random.default_rng(500 + seed)
    raster = random_raster(rng, rotated=seed % 3 == 2)
    x0, y0, x1, y1 = raster_extent(raster).bounds
    polys = gpd.GeoSeries([random_polygon(rng, x0, y0, x1 - x0, y1 - y0) for _ in range(5)], crs=GK).values
    pieces = boundary_pieces(polys, GK, raster)
    assert pieces.segments is not None and len(pieces.segments[2]) < len(pieces[0])
    by_segment, cells, _ = weighted_sums(pieces, raster.data, len(polys))
    by_piece, cells_p, _ = weighted_sums(tuple(pieces), raster.data, len(polys))
    assert np.allclose(by_segment, by_piece, rtol=1e-12, atol=1e-9)
    assert np.allclose(by_segment, brute_force(list(polys), raster), rtol=1e-9, atol=1e-6)
    assert np.array_equal(cells, cells_p)


def numpy_edge_sums(edges, values, n, with_cells=True):
    from geoplan.coverage.cellpieces import _pieces, weighted_sums

    return weighted_sums(_pieces(*edges, values.shape), values, n, with_cells)


@pytest.mark.parametrize("seed", range(30))
def test_compiled_sums_equal_the_numpy_sums(seed):
    """The compiled pass repeats the numpy arithmetic term for term: same sums to rounding, same covered
    cells, same scale; on rotated and south-up grids and polygons hanging over every side."""
    from geoplan.coverage import cellpieces

    require_compiled()
    rng = np.random.default_rng(900 + seed)
    raster = random_raster(rng, rotated=seed % 4 == 3)
    x0, y0, x1, y1 = raster_extent(raster).bounds
    polys = gpd.GeoSeries([random_polygon(rng, x0, y0, x1 - x0, y1 - y0) for _ in range(8)], crs=GK).values
    edges = cellpieces.pixel_edges(polys, GK, raster)
    got = cellpieces.edge_sums(edges, raster.data, len(polys))
    expected = numpy_edge_sums(edges, raster.data, len(polys))
    assert np.allclose(got[0], expected[0], rtol=1e-12, atol=1e-10 * expected[2])
    assert np.allclose(got[1], expected[1], rtol=1e-12, atol=1e-10)
    assert got[2] == expected[2]
    assert np.allclose(got[0], brute_force(list(polys), raster), rtol=1e-9, atol=1e-6)


def test_compiled_sums_equal_the_numpy_sums_on_the_sample_county():
    """Many overlapping polygons (1 km village buffers) and large ones on the sample raster, reprojected
    from EPSG:4490, and the same raster at 25 m, where rows hold hundreds of segments."""
    from geoplan.coverage import cellpieces

    require_compiled()
    raster = read_population(LAYERS / "330624_population.tif")
    villages = gpd.read_file(LAYERS / "330624.gpkg", layer="villages").to_crs(raster.crs)
    towns = gpd.read_file(LAYERS / "330624.gpkg", layer="townships")
    buffers = villages.buffer(1000.0, quad_segs=16).to_crs(4490)
    fine = PopulationRaster(np.repeat(np.repeat(raster.data, 4, 0), 4, 1) / 16.0,
                            raster.transform @ Affine.scale(0.25), raster.crs)
    sums = []
    for polys, r in ((buffers, raster), (towns.geometry, raster), (towns.geometry, fine)):
        geoms = np.asarray(polys.values)
        edges = cellpieces.pixel_edges(geoms, polys.crs, r)
        values = np.asarray(r.data, dtype=float)
        got = cellpieces.edge_sums(edges, values, len(geoms))
        expected = numpy_edge_sums(edges, values, len(geoms))
        assert np.allclose(got[0], expected[0], rtol=1e-12, atol=1e-9)
        assert np.allclose(got[1], expected[1], rtol=1e-12, atol=1e-8)
        sums.append(got[0])
    # Coverage is linear in the cells: splitting each cell into 16 equal shares changes no sum.
    assert np.allclose(sums[2], sums[1], rtol=1e-9)


@pytest.mark.parametrize("engine_name", ["compiled", "numpy"])
def test_coordinates_outside_the_layers_crs_are_an_error_not_zero_population(engine_name, monkeypatch):
    """Metres labelled as degrees reproject to inf: an error naming the feature, not a population of 0."""
    from geoplan.coverage import cellpieces

    if engine_name == "numpy":
        monkeypatch.setattr(cellpieces, "_cellsums", None)
    else:
        require_compiled()
    raster = read_population(LAYERS / "330624_population.tif")
    towns = gpd.read_file(LAYERS / "330624.gpkg", layer="townships")
    assert zonal_sum(towns, raster, "code").sum() > 400_000
    mislabelled = towns.to_crs(raster.crs).set_crs(4490, allow_override=True)
    with pytest.raises(CRSError, match="第 1 个要素.*EPSG:4490"):
        zonal_sum(mislabelled, raster, "code")
    one_bad = towns.copy()
    one_bad.loc[2, "geometry"] = mislabelled.geometry.iloc[2]
    with pytest.raises(CRSError, match="第 3 个要素"):
        zonal_stats(one_bad, raster, "code")


@pytest.mark.parametrize("seed", range(6))
def test_coverage_fractions_equal_brute_force(seed):
    rng = np.random.default_rng(100 + seed)
    raster = random_raster(rng)
    x0, y0, x1, y1 = raster_extent(raster).bounds
    poly = random_polygon(rng, x0, y0, x1 - x0, y1 - y0)
    cells = cell_polygons(raster)
    expected = shapely.area(shapely.intersection(poly, cells)) / shapely.area(cells)
    r0, c0, frac = coverage_fractions(poly, raster)
    full = np.zeros_like(expected)
    full[r0:r0 + frac.shape[0], c0:c0 + frac.shape[1]] = frac
    assert np.abs(full - expected).max() < 1e-9
    assert ((frac >= 0) & (frac <= 1)).all()


@pytest.mark.parametrize("seed", range(5))
def test_a_partition_of_the_raster_extent_sums_to_the_raster_total(seed, engine):
    rng = np.random.default_rng(200 + seed)
    raster = random_raster(rng)
    extent = raster_extent(raster)
    x0, y0, x1, y1 = extent.bounds
    seeds = shapely.points(rng.uniform(x0, x1, 30), rng.uniform(y0, y1, 30))
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.MultiPoint(seeds), extend_to=extent.buffer(1000)))
    parts = shapely.intersection(cells, extent)
    gdf = gpd.GeoDataFrame(geometry=parts[~shapely.is_empty(parts)], crs=GK)
    z = zonal_sum(gdf, raster)
    assert z.sum() == pytest.approx(raster.total, rel=1e-10)
    assert (z >= -1e-9).all()


def test_reprojects_polygons_to_the_raster_crs():
    rng = np.random.default_rng(7)
    raster = random_raster(rng)
    x0, y0, x1, y1 = raster_extent(raster).bounds
    polys = [random_polygon(rng, x0, y0, x1 - x0, y1 - y0) for _ in range(4)]
    metric = gpd.GeoDataFrame(geometry=polys, crs=GK)
    lonlat = metric.to_crs(4490)
    a = zonal_sum(metric, raster)
    b = zonal_sum(lonlat, raster)
    # Same polygons up to the round trip of reprojection.
    assert np.allclose(a, b, rtol=1e-6, atol=1e-6)


def test_reprojecting_in_halves_on_two_threads_changes_nothing(monkeypatch):
    import geoplan.coverage.cellpieces as cellpieces

    rng = np.random.default_rng(8)
    raster = random_raster(rng)
    x0, y0, x1, y1 = raster_extent(raster).bounds
    polys = [random_polygon(rng, x0, y0, x1 - x0, y1 - y0) for _ in range(9)]
    lonlat = gpd.GeoDataFrame(geometry=polys, crs=GK).to_crs(4490)
    monkeypatch.setattr(cellpieces, "_REPROJECT_IN_HALVES", np.inf)
    whole = zonal_stats(lonlat, raster)
    monkeypatch.setattr(cellpieces, "_REPROJECT_IN_HALVES", 0)
    pd.testing.assert_frame_equal(zonal_stats(lonlat, raster), whole, check_exact=True)


@pytest.mark.parametrize("seed", range(20))
def test_same_sums_as_exactextract(seed, tmp_path, engine):
    exactextract = pytest.importorskip("exactextract")
    rasterio = pytest.importorskip("rasterio")
    rng = np.random.default_rng(300 + seed)
    raster = random_raster(rng, north_up=True)
    path = tmp_path / "pop.tif"
    with rasterio.open(path, "w", driver="GTiff", height=raster.data.shape[0], width=raster.data.shape[1],
                       count=1, dtype="float64", crs="EPSG:4549", transform=raster.transform) as dst:
        dst.write(raster.data, 1)
    x0, y0, x1, y1 = raster_extent(raster).bounds
    polys = [random_polygon(rng, x0, y0, x1 - x0, y1 - y0) for _ in range(8)]
    gdf = gpd.GeoDataFrame({"pid": range(8)}, geometry=polys, crs=GK).to_crs(4490)
    ours = zonal_sum(gdf, raster, "pid")
    theirs = exactextract.exact_extract(str(path), gdf.to_crs(GK), ["sum"], include_cols=["pid"],
                                        output="pandas").set_index("pid")["sum"]
    # exactextract keeps coverage fractions in single precision, hence 1e-6 and not 1e-9.
    assert np.allclose(ours.to_numpy(), theirs.loc[ours.index].to_numpy(), rtol=1e-6, atol=1e-6)


def test_edges_on_grid_lines_and_through_cell_corners(engine):
    raster = PopulationRaster(np.arange(16.0).reshape(4, 4), Affine(100, 0, 0, 0, -100, 400), GK)
    gdf = gpd.GeoDataFrame(geometry=[shapely.box(100, 100, 300, 300), shapely.box(-100, -100, 500, 500),
                                     shapely.Polygon([(0, 0), (400, 400), (0, 400)])], crs=GK)
    z = zonal_stats(gdf, raster)
    # The triangle covers cells with row + col < 3 fully and halves those on the anti-diagonal.
    flipped = np.fliplr(raster.data)
    assert z["sum"].tolist() == pytest.approx([raster.data[1:3, 1:3].sum(), raster.data.sum(),
                                               np.triu(flipped, 1).sum() + 0.5 * np.trace(flipped)])
    r0, c0, frac = coverage_fractions(gdf.geometry[2], raster)
    assert (r0, c0) == (0, 0)
    assert np.array_equal(frac, np.fliplr(np.triu(np.ones((4, 4)), 1) + 0.5 * np.eye(4)))


def test_polygons_outside_the_raster_and_empty_geometries_get_zero(engine):
    raster = PopulationRaster(np.ones((4, 4)), Affine(100, 0, 0, 0, -100, 400), GK)
    gdf = gpd.GeoDataFrame(geometry=[shapely.box(1000, 1000, 1100, 1100), shapely.Polygon(), None,
                                     shapely.box(50, 50, 150, 150)], crs=GK)
    z = zonal_stats(gdf, raster)
    assert z["sum"].tolist() == pytest.approx([0, 0, 0, 1.0])
    assert np.isnan(z["mean"].iloc[0]) and z["mean"].iloc[3] == pytest.approx(1.0)


def test_bad_inputs_are_refused():
    raster = PopulationRaster(np.ones((2, 2)), Affine(1, 0, 0, 0, -1, 2), GK)
    with pytest.raises(ZonalError, match="Point"):
        zonal_sum(gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)], crs=GK), raster)
    with pytest.raises(CRSError):
        zonal_sum(gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)]), raster)
    with pytest.raises(ZonalError, match="'code'"):
        zonal_sum(gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)], crs=GK), raster, "code")


def test_areal_interpolation_moves_counts_by_area():
    src = gpd.GeoDataFrame({"pop": [100.0, 60.0]},
                           geometry=[shapely.box(0, 0, 1000, 1000), shapely.box(1000, 0, 2000, 1000)], crs=GK)
    tgt = gpd.GeoDataFrame({"tid": ["west", "middle", "outside"]},
                           geometry=[shapely.box(0, 0, 500, 1000), shapely.box(500, 0, 1500, 1000),
                                     shapely.box(5000, 0, 6000, 1000)], crs=GK)
    out = areal_interpolate(src, "pop", tgt.to_crs(4490), target_id="tid")
    assert out.loc["west", "pop"] == pytest.approx(50.0, rel=1e-4)
    assert out.loc["middle", "pop"] == pytest.approx(50.0 + 30.0, rel=1e-4)
    assert out.loc["outside", "pop"] == 0.0


@pytest.mark.parametrize("seed", range(3))
def test_areal_interpolation_to_a_partition_keeps_the_total(seed):
    rng = np.random.default_rng(400 + seed)
    extent = shapely.box(500000, 3300000, 510000, 3310000)
    def partition(k):
        pts = shapely.MultiPoint(shapely.points(rng.uniform(500000, 510000, k), rng.uniform(3300000, 3310000, k)))
        cells = shapely.get_parts(shapely.voronoi_polygons(pts, extend_to=extent.buffer(1000)))
        return gpd.GeoDataFrame(geometry=shapely.intersection(cells, extent), crs=GK)
    src, tgt = partition(20), partition(7)
    values = pd.DataFrame({"a": rng.integers(0, 1000, len(src)), "b": rng.random(len(src))})
    out = areal_interpolate(src, values, tgt)
    assert out.sum().to_numpy() == pytest.approx(values.sum().to_numpy(), rel=1e-9)
    same = areal_interpolate(src, values["a"].to_numpy(), src)
    assert same["value"].to_numpy() == pytest.approx(values["a"].to_numpy(), rel=1e-9)


@pytest.mark.skipif(not (LAYERS / "330624.gpkg").exists() or not (LAYERS / "330624_population.tif").exists(),
                    reason="sample layers not built")
def test_sample_townships_share_the_raster_total():
    from geoplan.layers.io import read_population

    raster = read_population(LAYERS / "330624_population.tif")
    towns = gpd.read_file(LAYERS / "330624.gpkg", layer="townships")
    z = zonal_sum(towns, raster, "code")
    # The raster is 0 outside the county, and the townships tile the county, so together they hold all of
    # it except the part of the county's edge cells that lies just outside the (generalised) outline.
    assert z.sum() == pytest.approx(raster.total, rel=0.01)
    assert z.sum() <= raster.total * (1 + 1e-9)
    # The sample assigns each cell wholly to the township containing its centre; shares differ only at edges.
    pop = towns.set_index("code")["population"]
    assert np.allclose(z.loc[pop.index].to_numpy(), pop.to_numpy(), rtol=0.05)


@pytest.mark.parametrize("seed", range(4))
def test_ring_orientation_does_not_matter(seed):
    """Exteriors and holes may come clockwise or counter-clockwise; the sums are the same."""
    rng = np.random.default_rng(500 + seed)
    raster = random_raster(rng, rotated=seed == 3)
    x0, y0, x1, y1 = raster_extent(raster).bounds
    polys = [random_polygon(rng, x0, y0, x1 - x0, y1 - y0) for _ in range(6)]
    gdf = gpd.GeoDataFrame(geometry=polys, crs=GK)
    flipped = gpd.GeoDataFrame(geometry=shapely.reverse(np.asarray(polys, dtype=object)), crs=GK)
    assert np.allclose(zonal_sum(flipped, raster).to_numpy(), brute_force(polys, raster), rtol=1e-9, atol=1e-6)
    assert np.allclose(zonal_sum(gdf, raster).to_numpy(), zonal_sum(flipped, raster).to_numpy(), rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_non_finite_cells_count_as_zero(seed, engine):
    rng = np.random.default_rng(600 + seed)
    raster = random_raster(rng, north_up=True)
    x0, y0, x1, y1 = raster_extent(raster).bounds
    polys = [random_polygon(rng, x0, y0, x1 - x0, y1 - y0) for _ in range(6)]
    gdf = gpd.GeoDataFrame(geometry=polys, crs=GK)
    data = raster.data.copy()
    bad = rng.random(data.shape) < 0.1
    data[bad] = rng.choice([np.nan, np.inf, -np.inf], bad.sum())
    dirty = PopulationRaster(data, raster.transform, GK)
    clean = PopulationRaster(np.where(bad, 0.0, data), raster.transform, GK)
    got = zonal_stats(gdf, dirty)
    assert np.isfinite(got["sum"]).all()
    assert np.allclose(got["sum"].to_numpy(), brute_force(polys, clean), rtol=1e-9, atol=1e-6)
