"""Tests of geoplan.network.graph (and geoplan.network.osm).

Travel times are compared with networkx on a graph in which every snapped
point is a node splitting its edge — the definition the engine must match —
built here independently from the edge table and the snap table.
"""

from __future__ import annotations

import math

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geoplan.errors import CRSError, GeoplanError, NetworkError, ValidationError, feature_label
from geoplan.network.graph import DEFAULT_SPEEDS_KMH, RoadNetwork, resolve_speeds

GK = "EPSG:4549"        # CGCS2000 GK zone at 120°E, the metric CRS the engine picks here
X0, Y0 = 500_000.0, 3_250_000.0   # ≈ 120°E, 29.4°N (新昌县 area)


def roads_frame(lines, classes="tertiary", oneway=False, speed=None, crs=GK):
    n = len(lines)
    data = {
        "road_id": [f"r{i}" for i in range(n)],
        "road_class": classes if isinstance(classes, list) else [classes] * n,
        "oneway": oneway if isinstance(oneway, list) else [oneway] * n,
    }
    if speed is not None:
        data["speed_kmh"] = speed if isinstance(speed, list) else [speed] * n
    geoms = [shapely.LineString([(X0 + x, Y0 + y) for x, y in line]) for line in lines]
    return gpd.GeoDataFrame(data, geometry=geoms, crs=crs)


def points_frame(xy, prefix="p", col="pid"):
    return gpd.GeoDataFrame({col: [f"{prefix}{i}" for i in range(len(xy))]},
                            geometry=[shapely.Point(X0 + x, Y0 + y) for x, y in xy], crs=GK)


def approx(v, rel=1e-6, abs=1e-6):
    return pytest.approx(v, rel=rel, abs=abs)


# --------------------------------------------------------------------------
# networkx reference
# --------------------------------------------------------------------------

def reference_graph(net: RoadNetwork, snaps: dict[str, pd.DataFrame]) -> nx.MultiDiGraph:
    """Road graph with each snapped point inserted as a node splitting its edge.

    Point ``(tag, id)`` is joined to its split node by an access edge both ways.
    """
    g = nx.MultiDiGraph()
    g.add_nodes_from(range(net.n_nodes))
    on_edge: dict[int, list] = {}
    for tag, s in snaps.items():
        for pid, r in s[s["snapped"]].iterrows():
            on_edge.setdefault(int(r["edge"]), []).append((r["to_u_s"], (tag, pid), r["access_s"]))
    for k, r in enumerate(net.edges.itertuples()):
        # Points at the very same spot share one split node.
        cuts = sorted({t for t, _, _ in on_edge.get(k, [])})
        split = {t: ("on", k, t) for t in cuts}
        for t, key, access in on_edge.get(k, []):
            g.add_edge(key, split[t], seconds=access)
            g.add_edge(split[t], key, seconds=access)
        chain = [(0.0, r.u)] + [(t, split[t]) for t in cuts] + [(r.seconds, r.v)]
        for (ta, a), (tb, b) in zip(chain[:-1], chain[1:]):
            w = max(tb - ta, 0.0)
            g.add_edge(a, b, seconds=w)
            if not r.oneway:
                g.add_edge(b, a, seconds=w)
    return g


def nx_nearest(g, sources, targets, reverse):
    graph = g.reverse(copy=False) if reverse else g
    dist = nx.multi_source_dijkstra_path_length(graph, sources, weight="seconds")
    return np.array([dist.get(t, np.inf) for t in targets])


# --------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------

def test_grid_topology_and_lengths():
    # 3 × 3 junctions, 500 m apart; the horizontal lines carry a mid vertex that is not a junction.
    lines = []
    for j in range(3):
        lines.append([(0, 500 * j), (500, 500 * j), (1000, 500 * j)])   # shares vertices → 2 edges
    for i in range(3):
        lines.append([(500 * i, 0), (500 * i, 1000)])                  # 1 line, no shared interior vertex
    net = RoadNetwork.from_roads(roads_frame(lines))
    assert net.crs.to_epsg() == 4549
    # Top and bottom lines are cut where the verticals end on their vertices; the
    # middle line's vertices are shared with nothing, so it stays one stray edge.
    assert net.n_edges == 2 + 1 + 2 + 3
    assert list(net.components["n_edges"]) == [7, 1]
    assert net.edges["length_m"].to_numpy() == approx([500, 500, 1000, 500, 500, 1000, 1000, 1000], abs=1e-3)
    sec = net.edges["seconds"].to_numpy()
    assert sec[:2] == approx(500 / (DEFAULT_SPEEDS_KMH["tertiary"] / 3.6), abs=1e-3)


def test_crossing_without_shared_vertex_is_a_bridge():
    net = RoadNetwork.from_roads(roads_frame([[(0, 0), (1000, 0)], [(500, -500), (500, 500)]]))
    assert net.n_nodes == 4 and len(net.components) == 2
    joined = RoadNetwork.from_roads(roads_frame([[(0, 0), (500, 0), (1000, 0)], [(500, -500), (500, 0), (500, 500)]]))
    assert joined.n_nodes == 5 and joined.n_edges == 4 and len(joined.components) == 1


def test_speeds_class_default_row_override_table_and_aliases():
    lines = [[(0, 0), (1000, 0)], [(1000, 0), (2000, 0)], [(2000, 0), (3000, 0)]]
    roads = roads_frame(lines, classes=["secondary", "县道", "track"], speed=[None, 90.0, None])
    net = RoadNetwork.from_roads(roads, speeds={"机耕路": 10})
    sec = net.edges.set_index("road_id")["seconds"]
    assert sec["r0"] == approx(1000 / (DEFAULT_SPEEDS_KMH["secondary"] / 3.6), abs=1e-3)
    assert sec["r1"] == approx(1000 / (90 / 3.6), abs=1e-3)       # row speed beats the class
    assert sec["r2"] == approx(1000 / (10 / 3.6), abs=1e-3)       # table override via the Chinese alias
    assert net.edges.set_index("road_id").loc["r1", "road_class"] == "secondary"
    assert resolve_speeds()["motorway"] == DEFAULT_SPEEDS_KMH["motorway"]


@pytest.mark.parametrize("speeds", [{"footway": 5}, {"primary": -10}, {"primary": 0}, {"primary": "fast"}])
def test_bad_speed_table(speeds, english):
    with pytest.raises(NetworkError, match="road class|positive"):
        RoadNetwork.from_roads(roads_frame([[(0, 0), (100, 0)]]), speeds=speeds)


def test_empty_roads(english):
    empty = roads_frame([[(0, 0), (100, 0)]]).iloc[:0]
    with pytest.raises(NetworkError, match="empty"):
        RoadNetwork.from_roads(empty, source="roads.gpkg")


def test_no_crs():
    roads = roads_frame([[(0, 0), (100, 0)]]).set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match="没有坐标系"):
        RoadNetwork.from_roads(roads)


def test_non_line_geometry_unknown_class_negative_speed_all_listed():
    roads = roads_frame([[(0, 0), (100, 0)], [(100, 0), (200, 0)], [(200, 0), (300, 0)]],
                        classes=["tertiary", "highway_to_hell", "tertiary"], speed=[None, None, -20.0])
    roads.loc[0, "geometry"] = shapely.Point(X0, Y0)
    with pytest.raises(ValidationError) as err:
        RoadNetwork.from_roads(roads, source="my_roads.gpkg")
    msg = str(err.value)
    assert "my_roads.gpkg" in msg
    assert {"road_class", "speed_kmh"} <= err.value.columns()
    assert all(feature_label(n) in msg for n in (1, 2, 3))


def test_from_file_formats(tmp_path):
    roads = roads_frame([[(0, 0), (1000, 0)], [(1000, 0), (1000, 1000)]])
    for name, kw in (("roads.gpkg", {"layer": "roads"}), ("roads.geojson", {}), ("roads.shp", {})):
        path = tmp_path / name
        roads.to_crs(4490).to_file(path, engine="pyogrio", **kw)
        net = RoadNetwork.from_file(path)
        assert net.n_edges == 2 and net.source == str(path)
        assert net.edges["length_m"].sum() == approx(2000.0, abs=0.01)


def test_from_file_validates_once(tmp_path, monkeypatch):
    import geoplan.layers.validate as validate

    calls = []
    real = validate.validate_frame
    counting = lambda *a, **k: calls.append(1) or real(*a, **k)  # noqa: E731
    monkeypatch.setattr(validate, "validate_frame", counting)
    import geoplan.layers.io as io

    if hasattr(io, "validate_frame"):
        monkeypatch.setattr(io, "validate_frame", counting)
    roads = roads_frame([[(0, 0), (1000, 0)], [(1000, 0), (1000, 1000)]], speed=[30, None])
    path = tmp_path / "roads.gpkg"
    roads.to_crs(4490).to_file(path, layer="roads", engine="pyogrio")
    net = RoadNetwork.from_file(path, speeds={"县道": 45}, node_precision_m=0.05)
    assert len(calls) == 1
    same = RoadNetwork.from_roads(roads, speeds={"县道": 45}, node_precision_m=0.05)
    assert len(calls) == 2
    assert net.edges["seconds"].to_numpy() == approx(same.edges["seconds"].to_numpy(), rel=1e-9)


def test_same_network_from_metric_and_storage_crs():
    # A layer already in the working zone is not reprojected twice; the
    # graph must be the one built from the same roads stored in EPSG:4490.
    lines = [[(0, 0), (500, 0), (1000, 0)], [(500, 0), (500, 700)], [(1000, 0), (1000, 900), (0, 900)]]
    a = RoadNetwork.from_roads(roads_frame(lines))
    b = RoadNetwork.from_roads(roads_frame(lines).to_crs(4490))
    assert (a.edges[["u", "v"]].to_numpy() == b.edges[["u", "v"]].to_numpy()).all()
    assert a.edges["length_m"].to_numpy() == approx(b.edges["length_m"].to_numpy(), abs=1e-6)
    assert a.node_xy == approx(b.node_xy, abs=1e-6)


def test_projected_roads_outside_china_and_duplicate_ids_named_by_row():
    # from_roads validates in the layer's own CRS; the in-China check then
    # transforms only the envelope unless a feature may lie outside, and
    # must still name exactly the stray feature (and the duplicated ID's row).
    lines = [[(0, 0), (1000, 0)], [(1000, 0), (2000, 0)], [(2000, 0), (3000, 0)], [(3000, 0), (4000, 0)]]
    roads = roads_frame(lines)
    roads.loc[2, "geometry"] = shapely.LineString([(X0 - 9e6, Y0), (X0 - 9e6 + 500, Y0)])
    roads.loc[3, "road_id"] = "r0"
    with pytest.raises(ValidationError) as err:
        RoadNetwork.from_roads(roads)
    rows = [p.row for p in err.value.problems]
    assert rows == [feature_label(3), feature_label(4)]
    assert [p.column for p in err.value.problems] == ["geometry", "road_id"]
    far = gpd.GeoSeries([roads.geometry[2]], crs=GK).to_crs(4490).centroid.x[0]
    assert not (73 <= far <= 136)  # the reference: pyproj puts it outside China too
    ok = roads_frame(lines[:2])
    assert RoadNetwork.from_roads(ok).n_edges == 2


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dense_codes_match_np_unique(seed):
    from geoplan.network.build import _dense_codes

    rng = np.random.default_rng(seed)
    key = rng.integers(0, 50, 1000) * 10_000 + (rng.integers(-(2**40), 2**40) if seed else 0)
    want = np.unique(key, return_inverse=True)[1].ravel()
    assert (_dense_codes(key) == want).all()
    assert len(_dense_codes(key[:0])) == 0


def test_from_file_bad_row_names_the_file(tmp_path):
    roads = roads_frame([[(0, 0), (1000, 0)]], classes="freeway")
    path = tmp_path / "bad.gpkg"
    roads.to_crs(4490).to_file(path, layer="roads", engine="pyogrio")
    with pytest.raises(ValidationError) as err:
        RoadNetwork.from_file(path)
    assert "bad.gpkg" in str(err.value) and "road_class" in err.value.columns()


# --------------------------------------------------------------------------
# Snapping and the access leg, by hand
# --------------------------------------------------------------------------

def straight(oneway=False, speed=60.0, length=1000.0):
    return RoadNetwork.from_roads(roads_frame([[(0, 0), (length, 0)]], speed=speed, oneway=oneway))


def test_snap_split_position_and_access_leg():
    net = straight()                                   # 60 km/h = 1000/60 m/s
    s = net.snap(points_frame([(300, 40), (-30, 0), (500, 2000)]), "pid", max_distance_m=500,
                 access_speed_kmh=5.0)
    p0 = s.loc["p0"]
    assert p0.snapped and p0.along_m == approx(300, abs=1e-3) and p0.fraction == approx(0.3, abs=1e-6)
    assert p0.distance_to_road_m == approx(40, abs=1e-3)
    assert p0.access_s == approx(40 / (5 / 3.6), abs=1e-3)           # 28.8 s
    assert p0.to_u_s == approx(18.0, abs=1e-3) and p0.to_v_s == approx(42.0, abs=1e-3)
    assert p0.geometry.x == approx(X0 + 300, abs=1e-3) and p0.geometry.y == approx(Y0, abs=1e-3)
    p1 = s.loc["p1"]                                   # beyond the end: snaps to the end node
    assert p1.snapped and p1.fraction == 0 and p1.distance_to_road_m == approx(30, abs=1e-3)
    p2 = s.loc["p2"]
    assert not p2.snapped and p2.distance_to_road_m == approx(2000, abs=1e-3)
    assert "500 米内没有道路" in p2.reason and "最近的道路约 2000 米" in p2.reason


def test_nearest_facility_by_hand_and_not_snapped():
    net = straight()
    fac = points_frame([(900, 0)], prefix="F", col="fid")
    dem = points_frame([(300, 40), (500, 5000)])
    r = net.nearest_facility(dem, fac, "pid", "fid", access_speed_kmh=5.0)
    assert r.loc["p0", "facility_id"] == "F0"
    assert r.loc["p0", "minutes"] == approx((28.8 + 36.0) / 60, abs=1e-6)   # 600 m at 60 km/h + 40 m walk
    assert r.loc["p1", "status"] == "not_snapped" and math.isnan(r.loc["p1", "minutes"])
    assert not r.loc["p1", "reachable"] and "1000 米内没有道路" in r.loc["p1", "reason"]


def test_two_points_on_same_oneway_edge():
    # Square loop, one-way anticlockwise; A and B on the bottom edge (digitised eastward).
    sq = [[(0, 0), (1000, 0)], [(1000, 0), (1000, 1000)], [(1000, 1000), (0, 1000)], [(0, 1000), (0, 0)]]
    net = RoadNetwork.from_roads(roads_frame(sq, oneway=True, speed=36.0))   # 10 m/s
    pts = points_frame([(200, 0), (700, 0)], prefix="P", col="id")
    cm = net.cost_matrix(pts, pts, "id", "id", wide=True)
    assert cm.loc["P0", "P1"] == approx(50 / 60)                 # 500 m straight along the edge
    assert cm.loc["P1", "P0"] == approx(3500 / 10 / 60)          # must go round the block
    assert cm.loc["P0", "P0"] == approx(0.0)
    two = RoadNetwork.from_roads(roads_frame(sq, oneway=False, speed=36.0))
    cm2 = two.cost_matrix(pts, pts, "id", "id", wide=True)
    assert cm2.loc["P1", "P0"] == approx(50 / 60)


def test_direction_matters_on_oneway_roads():
    sq = [[(0, 0), (1000, 0)], [(1000, 0), (1000, 1000)], [(1000, 1000), (0, 1000)], [(0, 1000), (0, 0)]]
    net = RoadNetwork.from_roads(roads_frame(sq, oneway=True, speed=36.0))
    fac = points_frame([(1000, 500)], prefix="F", col="fid")
    dem = points_frame([(500, 0)])
    to = net.nearest_facility(dem, fac, "pid", "fid", direction="to_facility")
    fro = net.nearest_facility(dem, fac, "pid", "fid", direction="from_facility")
    assert to.loc["p0", "minutes"] == approx(1000 / 10 / 60)
    assert fro.loc["p0", "minutes"] == approx(3000 / 10 / 60)


# --------------------------------------------------------------------------
# Disconnected networks
# --------------------------------------------------------------------------

def island_net():
    lines = [[(0, 0), (1000, 0)], [(1000, 0), (2000, 0)], [(5000, 0), (6000, 0)]]
    return RoadNetwork.from_roads(roads_frame(lines, speed=36.0))


@pytest.fixture
def english():
    """Messages in English (--lang en) for the assertions that read them; Chinese is the default."""
    from geoplan import i18n

    i18n.set_language("en")
    yield
    i18n.set_language(None)


def test_components_reported_and_check_connected(english):
    net = island_net()
    rep = net.connectivity_report()
    assert list(rep["n_edges"]) == [2, 1] and rep.loc[1, "road_ids"] == "r2"
    with pytest.raises(NetworkError, match="2 disconnected pieces") as err:
        net.check_connected()
    assert "r2" in str(err.value)
    with pytest.raises(NetworkError):
        RoadNetwork.from_roads(roads_frame([[(0, 0), (10, 0)], [(50, 0), (60, 0)]]), require_connected=True)


def test_unreachable_points_flagged_not_zero_or_inf():
    net = island_net()
    fac = points_frame([(100, 0)], prefix="F", col="fid")
    dem = points_frame([(1500, 0), (5500, 10)])
    r = net.nearest_facility(dem, fac, "pid", "fid")
    assert r.loc["p0", "status"] == "ok"
    bad = r.loc["p1"]
    assert bad.status == "unreachable" and not bad.reachable and math.isnan(bad.minutes)
    assert pd.isna(bad.facility_id)
    assert "第 1 个路网连通片" in bad.reason and "r2" in bad.reason
    cm = net.cost_matrix(fac, dem, "fid", "pid")
    assert list(cm["status"]) == ["ok", "unreachable"] and cm["minutes"].isna().tolist() == [False, True]
    cut = net.cost_matrix(fac, dem, "fid", "pid", cutoff_min=1.0)
    assert list(cut["status"]) == ["beyond_cutoff", "unreachable"]


def test_unreachable_and_far_reasons_in_english(english):
    net = island_net()
    r = net.nearest_facility(points_frame([(5500, 10), (500, 5000)]), points_frame([(100, 0)], prefix="F", col="fid"),
                             "pid", "fid")
    assert "network component 1" in r.loc["p0", "reason"] and "facility" in r.loc["p0", "reason"]
    assert r.loc["p1", "reason"].startswith("no road within 1000 m (nearest road about")


def test_cutoff_on_oneway_dead_end_is_unreachable_not_beyond():
    # Main two-way road plus a one-way spur leading *out* of a cul-de-sac: the
    # spur's far end cannot be reached although it is weakly connected.
    lines = [[(0, 0), (1000, 0)], [(1000, 500), (1000, 0)]]
    net = RoadNetwork.from_roads(roads_frame(lines, oneway=[False, True], speed=36.0))
    fac = points_frame([(100, 0)], prefix="F", col="fid")
    dem = points_frame([(1000, 400), (900, 0)])
    cut = net.cost_matrix(fac, dem, "fid", "pid", cutoff_min=0.5).set_index("destination_id")
    assert cut.loc["p0", "status"] == "unreachable"
    assert cut.loc["p1", "status"] == "beyond_cutoff"
    r = net.nearest_facility(dem, fac, "pid", "fid", direction="from_facility")
    assert r.loc["p0", "status"] == "unreachable" and "单行道不允许" in r.loc["p0", "reason"]


def test_no_facility_snapped_raises(english):
    net = straight()
    with pytest.raises(NetworkError, match="None of the 1 facilities"):
        net.nearest_facility(points_frame([(0, 0)]), points_frame([(0, 9000)], col="fid"), "pid", "fid")


def test_duplicate_ids_rejected(english):
    net = straight()
    pts = points_frame([(0, 0), (10, 0)])
    pts["pid"] = "same"
    with pytest.raises(ValidationError, match="duplicate ID"):
        net.snap(pts, "pid")
    with pytest.raises(GeoplanError, match="no column"):
        net.snap(pts, "nope")


# --------------------------------------------------------------------------
# Isochrones
# --------------------------------------------------------------------------

def test_isochrone_road_length_by_hand():
    net = RoadNetwork.from_roads(roads_frame([[(0, 0), (2000, 0)], [(2000, 0), (6000, 0)]], speed=60.0))
    fac = points_frame([(2500, 0)], prefix="F", col="fid")           # on the second edge, 0 m access
    iso = net.isochrones(fac, "fid", minutes=[1, 2], buffer_m=100)
    one = iso[iso.minutes == 1].iloc[0]
    two = iso[iso.minutes == 2].iloc[0]
    assert one.road_km == approx(2.0, abs=1e-6)                       # ±1 km at 1 km/min
    assert two.road_km == approx(4.0, abs=1e-6)                       # crosses the junction at 2000 m
    metric = iso.to_crs(GK)
    assert metric.iloc[1].geometry.contains(shapely.Point(X0 + 600, Y0 + 50))
    assert not metric.iloc[1].geometry.contains(shapely.Point(X0 + 400, Y0))
    assert one.area_km2 == approx(2.0 * 0.2 + math.pi * 0.01, rel=0.02)
    oneway = RoadNetwork.from_roads(roads_frame([[(0, 0), (6000, 0)]], speed=60.0, oneway=True))
    fwd = oneway.isochrones(fac, "fid", minutes=[1], direction="from_facility", buffer_m=10).to_crs(GK)
    assert fwd.iloc[0].road_km == approx(1.0, abs=1e-6)
    assert fwd.iloc[0].geometry.contains(shapely.Point(X0 + 3400, Y0))
    back = oneway.isochrones(fac, "fid", minutes=[1], direction="to_facility", buffer_m=10).to_crs(GK)
    assert back.iloc[0].geometry.contains(shapely.Point(X0 + 1600, Y0))


# --------------------------------------------------------------------------
# Exactly networkx's times, on random graphs
# --------------------------------------------------------------------------

def random_roads(rng, n=6, step=400.0, p_keep=0.8, p_oneway=0.25):
    jitter = rng.uniform(-step * 0.3, step * 0.3, size=(n, n, 2))
    xy = np.stack(np.meshgrid(np.arange(n) * step, np.arange(n) * step, indexing="ij"), -1) + jitter
    lines, classes, oneway, speed = [], [], [], []
    for i in range(n):
        for j in range(n):
            for di, dj in ((1, 0), (0, 1)):
                a, b = (i, j), (i + di, j + dj)
                if b[0] >= n or b[1] >= n or rng.random() > p_keep:
                    continue
                pa, pb = xy[a], xy[b]
                mid = (pa + pb) / 2 + rng.normal(0, 20, 2)
                line = [tuple(pa), tuple(mid), tuple(pb)]
                if rng.random() < 0.5:
                    line = line[::-1]
                for _ in range(1 + (rng.random() < 0.1)):              # some parallel roads
                    lines.append(line)
                    classes.append(str(rng.choice(list(DEFAULT_SPEEDS_KMH))))
                    oneway.append(bool(rng.random() < p_oneway))
                    speed.append(None if rng.random() < 0.7 else float(rng.uniform(5, 120)))
    if not lines:
        lines, classes, oneway, speed = [[(0.0, 0.0), (step, 0.0)]], ["tertiary"], [False], [None]
    return roads_frame(lines, classes=classes, oneway=oneway, speed=speed), xy


def random_points(rng, k, n, step, prefix, col):
    xy = rng.uniform(-step, n * step, size=(k, 2))
    return points_frame([tuple(p) for p in xy], prefix=prefix, col=col)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 7), k_fac=st.integers(1, 5),
       p_oneway=st.sampled_from([0.0, 0.3, 0.8]), direction=st.sampled_from(["to_facility", "from_facility"]))
def test_nearest_facility_equals_networkx(seed, n, k_fac, p_oneway, direction):
    rng = np.random.default_rng(seed)
    roads, _ = random_roads(rng, n=n, p_oneway=p_oneway)
    net = RoadNetwork.from_roads(roads)
    fac = random_points(rng, k_fac, n, 400.0, "F", "fid")
    dem = random_points(rng, 40, n, 400.0, "D", "did")
    # Put some points exactly on junctions and on the facilities' own edges.
    dem.loc[0, "geometry"] = shapely.Point(X0 + net.node_xy[0, 0] - X0, net.node_xy[0, 1])
    dem.loc[1, "geometry"] = fac.geometry.iloc[0]
    sf = net.snap(fac, "fid", max_distance_m=300)
    sd = net.snap(dem, "did", max_distance_m=300)
    if not sf["snapped"].any():
        with pytest.raises(NetworkError):
            net.nearest_facility(sd, sf, direction=direction)
        return
    got = net.nearest_facility(sd, sf, direction=direction)
    g = reference_graph(net, {"F": sf, "D": sd})
    sources = [("F", i) for i in sf.index[sf["snapped"]]]
    want = nx_nearest(g, sources, [("D", i) for i in sd.index], reverse=(direction == "to_facility"))
    want = np.where(sd["snapped"].to_numpy(), want, np.inf)
    finite = np.isfinite(want)
    assert (got["status"].to_numpy() == "ok").tolist() == finite.tolist()
    np.testing.assert_allclose(got["minutes"].to_numpy()[finite], want[finite] / 60.0, rtol=1e-9, atol=1e-9)
    assert got.loc[~finite, "minutes"].isna().all()
    # The reported facility really is (one of) the nearest.
    cm = net.cost_matrix(sf, sd, wide=True) if direction == "from_facility" else net.cost_matrix(sd, sf, wide=True).T
    for did in got.index[finite]:
        assert cm.loc[got.loc[did, "facility_id"], did] == pytest.approx(got.loc[did, "minutes"], rel=1e-9, abs=1e-9)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 6), cutoff=st.sampled_from([None, 1.0, 3.0]))
def test_cost_matrix_equals_networkx(seed, n, cutoff):
    rng = np.random.default_rng(seed)
    roads, _ = random_roads(rng, n=n, p_keep=0.7, p_oneway=0.3)
    net = RoadNetwork.from_roads(roads)
    org = net.snap(random_points(rng, 6, n, 400.0, "O", "oid"), "oid", max_distance_m=300)
    dst = net.snap(random_points(rng, 8, n, 400.0, "T", "tid"), "tid", max_distance_m=300)
    got = net.cost_matrix(org, dst, cutoff_min=cutoff)
    g = reference_graph(net, {"O": org, "T": dst})
    for r in got.itertuples():
        o_ok, t_ok = org.loc[r.origin_id, "snapped"], dst.loc[r.destination_id, "snapped"]
        if not o_ok:
            assert r.status == "origin_not_snapped"
            continue
        if not t_ok:
            assert r.status == "destination_not_snapped"
            continue
        try:
            want = nx.dijkstra_path_length(g, ("O", r.origin_id), ("T", r.destination_id), weight="seconds") / 60
        except nx.NetworkXNoPath:
            want = math.inf
        if not math.isfinite(want):
            assert r.status == "unreachable" and math.isnan(r.minutes)
        elif cutoff is not None and want > cutoff:
            assert r.status == "beyond_cutoff" and math.isnan(r.minutes)
        else:
            assert r.status == "ok"
            assert r.minutes == pytest.approx(want, rel=1e-9, abs=1e-9)


def test_edge_table_matches_csr_and_networkx_export():
    rng = np.random.default_rng(7)
    roads, _ = random_roads(rng, n=5)
    net = RoadNetwork.from_roads(roads)
    g = net.to_networkx()
    assert g.number_of_nodes() == net.n_nodes and g.number_of_edges() == net.graph_seconds.nnz
    for r in net.edges.itertuples():
        if r.u != r.v:
            assert g[r.u][r.v]["seconds"] <= r.seconds + 1e-12


# --------------------------------------------------------------------------
# OpenStreetMap
# --------------------------------------------------------------------------

OSM_XML = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="geoplan-tests">
  <node id="1" version="1" lat="29.500" lon="120.900"/>
  <node id="2" version="1" lat="29.500" lon="120.910"/>
  <node id="3" version="1" lat="29.510" lon="120.910"/>
  <node id="4" version="1" lat="29.510" lon="120.900"/>
  <node id="5" version="1" lat="29.505" lon="120.905"/>
  <way id="10" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="secondary"/><tag k="name" v="X305"/></way>
  <way id="11" version="1"><nd ref="3"/><nd ref="4"/>
    <tag k="highway" v="residential"/><tag k="oneway" v="-1"/><tag k="maxspeed" v="20"/></way>
  <way id="12" version="1"><nd ref="4"/><nd ref="1"/><tag k="highway" v="track"/></way>
  <way id="13" version="1"><nd ref="1"/><nd ref="5"/><tag k="highway" v="footway"/></way>
  <way id="14" version="1"><nd ref="5"/><nd ref="3"/><tag k="highway" v="service"/><tag k="access" v="private"/></way>
  <way id="15" version="1"><nd ref="2"/><nd ref="999"/><nd ref="4"/><tag k="highway" v="motorway"/></way>
</osm>
"""


@pytest.fixture
def osm_files(tmp_path):
    osmium = pytest.importorskip("osmium")
    xml = tmp_path / "county.osm"
    xml.write_text(OSM_XML, encoding="utf-8")
    pbf = tmp_path / "county.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for obj in osmium.FileProcessor(str(xml)):
            writer.add(obj)
    return xml, pbf


def test_read_osm_roads_tags(osm_files):
    from geoplan.network.osm import parse_maxspeed, read_osm_roads

    for path in osm_files:
        roads = read_osm_roads(path).set_index("road_id")
        assert sorted(roads.index) == ["w10", "w11", "w12"]       # footway, private and broken motorway gone
        assert roads.loc["w10", "name"] == "X305" and roads.loc["w10", "road_class"] == "secondary"
        assert roads.loc["w11", "oneway"] and roads.loc["w11", "speed_kmh"] == 20
        # oneway=-1: the line is reversed so that travel runs in drawing order (node 4 → 3)
        assert roads.loc["w11", "geometry"].coords[0] == (120.900, 29.510)
        assert not roads.loc["w12", "oneway"] and roads.crs.to_epsg() == 4490
    assert parse_maxspeed("30 mph") == pytest.approx(48.28032)
    assert parse_maxspeed("CN:rural") is None


def test_from_osm_routes(osm_files):
    xml, pbf = osm_files
    a, b = RoadNetwork.from_osm(xml), RoadNetwork.from_osm(pbf)
    assert a.n_edges == b.n_edges == 3 and len(a.components) == 1
    # 1→2→3 secondary (≈ 967 m + 1110 m) at 50 km/h; 4→3 one-way at 20 km/h.
    fac = gpd.GeoDataFrame({"fid": ["F"]}, geometry=[shapely.Point(120.910, 29.510)], crs=4490)
    dem = gpd.GeoDataFrame({"did": ["D"]}, geometry=[shapely.Point(120.900, 29.510)], crs=4490)
    to = a.nearest_facility(dem, fac, "did", "fid", direction="to_facility")
    fro = a.nearest_facility(dem, fac, "did", "fid", direction="from_facility")
    e = a.edges.set_index("road_id")
    assert to.loc["D", "minutes"] == approx(e.loc["w11", "seconds"] / 60)
    assert fro.loc["D", "minutes"] == approx((e.loc["w12", "seconds"] + e.loc["w10", "seconds"]) / 60)


def test_osm_missing_file(english):
    from geoplan.errors import DataFileError
    from geoplan.network.osm import read_osm_roads

    with pytest.raises(DataFileError, match="does not exist"):
        read_osm_roads("/nonexistent/county.osm.pbf")
    from geoplan import i18n

    i18n.set_language("zh_CN")
    with pytest.raises(DataFileError, match="不存在"):
        read_osm_roads("/nonexistent/county.osm.pbf")


# --------------------------------------------------------------------------
# Sample county
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sample():
    from geoplan.errors import DataFileError
    from geoplan.layers.sample import load_sample

    try:
        county = load_sample("330624")
    except DataFileError as exc:
        pytest.skip(f"sample county layers not built yet: {exc}")
    if "roads" not in county.layers or "elderly_care" not in county.layers:
        pytest.skip("sample county has no roads or elderly_care layer yet")
    return county


def test_sample_county_nearest_facility_equals_networkx(sample):
    net = RoadNetwork.from_roads(sample["roads"], source="330624.gpkg")
    fac = sample["elderly_care"]
    if sample.population is not None:
        cells = sample.population.cell_centres()
        cells = cells.sample(min(len(cells), 3000), random_state=0)
    else:
        cells = sample["villages"]
    id_col = "cell_id" if "cell_id" in cells.columns else "code"
    sf = net.snap(fac, "facility_id")
    sd = net.snap(cells, id_col)
    got = net.nearest_facility(sd, sf)
    g = reference_graph(net, {"F": sf, "D": sd})
    want = nx_nearest(g, [("F", i) for i in sf.index[sf["snapped"]]], [("D", i) for i in sd.index], reverse=True)
    want = np.where(sd["snapped"].to_numpy(), want, np.inf)
    finite = np.isfinite(want)
    assert (got["status"] == "ok").to_numpy().tolist() == finite.tolist()
    np.testing.assert_allclose(got["minutes"].to_numpy()[finite], want[finite] / 60, rtol=1e-9, atol=1e-9)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_snap_distance_is_exact(seed):
    rng = np.random.default_rng(seed)
    roads, _ = random_roads(rng, n=5)
    net = RoadNetwork.from_roads(roads)
    pts = random_points(rng, 200, 5, 400.0, "P", "pid")
    s = net.snap(pts, "pid", max_distance_m=150)
    metric = pts.to_crs(net.crs).geometry.to_numpy()
    exact = shapely.distance(metric[:, None], net.edges.geometry.to_numpy()[None, :]).min(axis=1)
    assert s["snapped"].to_numpy().tolist() == (exact <= 150).tolist()
    np.testing.assert_allclose(s["distance_to_road_m"].to_numpy()[exact <= 150], exact[exact <= 150], atol=1e-6)
    on = s[s["snapped"]]
    # The snapped position lies on its edge at along_m from u.
    geoms = net.edges.geometry.to_numpy()[on["edge"].to_numpy()]
    np.testing.assert_allclose(shapely.line_locate_point(geoms, on.geometry.to_numpy()), on["along_m"], atol=1e-6)


# --------------------------------------------------------------------------
# Snapping index and table helpers, against plain references
# --------------------------------------------------------------------------

def wiggly_roads(rng, n_roads=12, extent=3000.0):
    """Curvy roads of many short segments, some sharing end points, plus a
    few long straight ones: candidates for the nearest road are numerous."""
    lines = []
    for _ in range(n_roads):
        start = rng.uniform(0, extent, 2)
        steps = rng.normal(0, 1, (int(rng.integers(2, 60)), 2)) * rng.uniform(5, 120)
        lines.append(np.vstack([start, start + np.cumsum(steps, axis=0)]))
    lines.append(np.array([[0.0, 0.0], [extent, extent]]))
    lines.append(np.array([[extent, 0.0], [0.0, extent]]))            # crosses the previous one
    lines.append(lines[0][::-1][:3].copy())                              # overlaps road 0 at its end
    return roads_frame([[tuple(p) for p in ln] for ln in lines])


def exact_nearest(net, xy):
    """Distance to and position along the nearest edge, by shapely, for points in the network CRS."""
    pts = shapely.points(xy)
    geoms = net.edges.geometry.to_numpy()
    d = shapely.distance(pts[:, None], geoms[None, :])
    return d.min(axis=1), d


@pytest.fixture(params=["compiled", "numpy"])
def snap_grid(request, monkeypatch):
    """The grid cells' nearest candidate found by the compiled kernel (``_snapgrid``) or in numpy."""
    import geoplan.network.index as index

    if request.param == "numpy":
        monkeypatch.setattr(index, "_snapgrid", None)
    elif index._snapgrid is None:
        pytest.skip("geoplan.network._snapgrid was not built (test_the_compiled_snap_grid_is_built fails)")
    return request.param


def test_the_compiled_snap_grid_is_built():
    """pip install builds it where a C compiler is present (the install script provides one)."""
    import geoplan.network.index as index

    assert index._snapgrid is not None, (
        "geoplan.network._snapgrid was not built: install gcc and python3-dev "
        "(scripts/install_system_packages.sh), then pip install -e . again")


@pytest.mark.parametrize("k0, chunk, grid, pad_width, pad_first", [
    (8, 16384, True, None, 4), (8, 16384, False, None, 4), (1, 7, True, None, 4), (2, 1000, False, None, 4),
    (8, 16384, True, 3, 4), (8, 16384, True, 0, 4), (8, 16384, True, None, 1)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_snap_matches_shapely_exactly(monkeypatch, seed, k0, chunk, grid, pad_width, pad_first, snap_grid):
    from geoplan.network.graph import _SnapIndex

    # pad_width 3: crowded cells leave the padded candidate table for the
    # ragged lists, in the same blocks; 0: no padded table at all. pad_first 1:
    # most points need the second round over their cell's whole row.
    monkeypatch.setattr(_SnapIndex, "PAD_WIDTH", pad_width)
    monkeypatch.setattr(_SnapIndex, "PAD_FIRST", pad_first)

    # A small first k and small blocks send most points through the second
    # (ball) round and through several threads; with the grid, points near
    # roads are settled by it and the rest by the tree.
    monkeypatch.setattr(_SnapIndex, "K0", k0)
    monkeypatch.setattr(_SnapIndex, "CHUNK", chunk)
    monkeypatch.setattr(_SnapIndex, "GRID", grid)
    rng = np.random.default_rng(seed)
    net = RoadNetwork.from_roads(wiggly_roads(rng))
    coords = shapely.get_coordinates(net.edges.geometry.to_numpy())
    xy = np.vstack([
        rng.uniform(-2000, 5000, (300, 2)) + [X0, Y0],                   # near and far from roads
        coords[rng.integers(0, len(coords), 40)],                         # on vertices and segment ends
        coords[rng.integers(0, len(coords), 20)] + rng.normal(0, 1e-3, (20, 2)),
        [[X0 + 1500.0, Y0 + 1500.0]],                                     # where the two diagonals cross
        [[X0 + 60_000.0, Y0 - 40_000.0]],                                 # very far away
    ])
    pts = gpd.GeoDataFrame({"pid": [f"p{i}" for i in range(len(xy))]}, geometry=shapely.points(xy), crs=GK)
    max_d = 400.0
    s = net.snap(pts, "pid", max_distance_m=max_d)
    exact, all_d = exact_nearest(net, xy)
    near = exact <= max_d
    assert s["snapped"].to_numpy().tolist() == near.tolist()
    np.testing.assert_allclose(s["distance_to_road_m"].to_numpy()[near], exact[near], rtol=0, atol=1e-9)
    # The chosen edge is at that distance (ties: test_snap_tie_between_edges_picks_lowest_edge).
    edge = s["edge"].to_numpy()[near]
    np.testing.assert_allclose(all_d[np.flatnonzero(near), edge], exact[near], rtol=0, atol=1e-9)
    on = s[s["snapped"]]
    geoms = net.edges.geometry.to_numpy()[on["edge"].to_numpy()]
    np.testing.assert_allclose(shapely.line_locate_point(geoms, on.geometry.to_numpy()), on["along_m"], atol=1e-6)
    np.testing.assert_allclose(shapely.distance(on.geometry.to_numpy(), shapely.points(xy[near])),
                               on["distance_to_road_m"], atol=1e-6)
    # Points beyond max_distance: reported, not snapped, with the exact distance.
    far = s[~s["snapped"]]
    np.testing.assert_allclose(far["distance_to_road_m"].to_numpy(), exact[~near], rtol=0, atol=1e-9)
    assert far["reason"].str.contains(f"{max_d:g} 米内没有道路").all()
    assert (far["edge"] == -1).all() and far["u"].eq(-1).all()


@pytest.mark.parametrize("small_blocks", [False, True])
def test_snap_missing_empty_and_non_point_geometries(monkeypatch, small_blocks):
    """Points are read in blocks on threads: missing, empty and NaN points are
    not snapped (whichever block they fall in), a polygon or multipoint is
    snapped at shapely's point on its surface, and every other point exactly
    as shapely places it."""
    import geoplan.network.snapping as snapping
    from geoplan.network.graph import _SnapIndex

    if small_blocks:
        # Blocks of a few points: odd geometries land in different blocks
        # and threads, some blocks hold nothing to snap.
        monkeypatch.setattr(snapping, "_CHUNK", 3)
        monkeypatch.setattr(_SnapIndex, "GRID_CHUNK", 5)
        monkeypatch.setattr(_SnapIndex, "CELL_CHUNK", 4)
    rng = np.random.default_rng(7)
    net = RoadNetwork.from_roads(wiggly_roads(rng))
    xy = rng.uniform(0, 3000, (40, 2)) + [X0, Y0]
    geoms = list(shapely.points(xy))
    odd = {3: None, 4: shapely.Point(), 10: shapely.points([np.nan, np.nan]), 11: shapely.Point(np.nan, Y0),
           17: shapely.buffer(shapely.Point(X0 + 800, Y0 + 900), 30.0),
           18: shapely.MultiPoint([(X0 + 100, Y0 + 2000), (X0 + 2500, Y0 + 300)]),
           25: shapely.Polygon(), 39: None}
    for i, g in odd.items():
        geoms[i] = g
    pts = gpd.GeoDataFrame({"pid": [f"p{i}" for i in range(len(geoms))]}, geometry=geoms, crs=GK)
    s = net.snap(pts, "pid", max_distance_m=5000)
    gone = [3, 4, 10, 11, 25, 39]
    assert s["snapped"].to_numpy().nonzero()[0].tolist() == [i for i in range(len(geoms)) if i not in gone]
    assert s["distance_to_road_m"].iloc[gone].isna().all()
    assert (s["edge"].iloc[gone] == -1).all() and (s["u"].iloc[gone] == -1).all()
    assert s[["along_m", "to_u_s", "to_v_s", "access_s"]].iloc[gone].isna().all().all()
    # The reference: shapely's own point on the surface of each geometry, and its distance to every road.
    ok = np.setdiff1d(np.arange(len(geoms)), gone)
    ref = shapely.point_on_surface(np.array(geoms, dtype=object)[ok])
    exact = shapely.distance(ref[:, None], net.edges.geometry.to_numpy()[None, :]).min(axis=1)
    np.testing.assert_allclose(s["distance_to_road_m"].to_numpy()[ok], exact, rtol=0, atol=1e-9)
    on = s.iloc[ok]
    lines = net.edges.geometry.to_numpy()[on["edge"].to_numpy()]
    np.testing.assert_allclose(shapely.line_locate_point(lines, on.geometry.to_numpy()), on["along_m"], atol=1e-6)
    np.testing.assert_allclose(shapely.distance(on.geometry.to_numpy(), ref), exact, atol=1e-6)
    # A facility drawn as a polygon is routed from the same point as the point itself.
    fac = gpd.GeoDataFrame({"fid": ["A", "B"]}, geometry=[geoms[17], geoms[0]], crs=GK)
    fac_pt = fac.set_geometry([shapely.point_on_surface(geoms[17]), geoms[0]])
    got = net.nearest_facility(pts, fac, "pid", "fid")
    want = net.nearest_facility(pts, fac_pt, "pid", "fid")
    pd.testing.assert_frame_equal(got, want)
    assert got["status"].iloc[gone].eq("not_snapped").all()


def test_snap_tie_between_edges_picks_lowest_edge(snap_grid):
    # A point beyond a junction is equally near to both edges ending there.
    net = RoadNetwork.from_roads(roads_frame([[(0, 0), (1000, 0)], [(1000, 0), (1000, 1000)]]))
    s = net.snap(points_frame([(1100, -100), (1100, -200)]), "pid")
    assert (s["edge"] == 0).all() and (s["fraction"] == 1.0).all()
    assert s.loc["p0", "distance_to_road_m"] == approx(math.hypot(100, 100), abs=1e-6)


@pytest.mark.parametrize("jitter", [0.0, 20.0])
def test_compiled_snap_grid_gives_the_numpy_segments_and_distances_bit_for_bit(monkeypatch, jitter):
    """On a regular road grid (many exact ties: points on a cell's axes are equally near two roads)
    and a perturbed one, the compiled kernel picks the same segment at the same distance as numpy
    for every point."""
    import geoplan.network.index as index
    from geoplan.network.graph import _SnapIndex

    if index._snapgrid is None:
        pytest.skip("geoplan.network._snapgrid was not built (test_the_compiled_snap_grid_is_built fails)")
    rng = np.random.default_rng(11)
    n = 40
    gx, gy = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    xy = np.c_[gx.ravel(), gy.ravel()] * 100.0 + [X0, Y0] + rng.uniform(-jitter, jitter, (n * n, 2))
    node = np.arange(n * n).reshape(n, n)
    u = np.r_[node[:-1, :].ravel(), node[:, :-1].ravel()]
    v = np.r_[node[1:, :].ravel(), node[:, 1:].ravel()]
    roads = gpd.GeoDataFrame({"road_id": np.arange(len(u)).astype(str), "road_class": "tertiary"},
                             geometry=shapely.linestrings(np.stack([xy[u], xy[v]], axis=1)), crs=GK)
    net = RoadNetwork.from_roads(roads)
    idx = net._segments
    # On a cell's diagonal, a whole number of metres from its corner: exactly as near to the two roads
    # meeting there (on the regular grid), and snapped within 45 m.
    corner = rng.integers(0, n - 1, (2000, 2)) * 100.0 + [X0, Y0]
    diagonal = corner + rng.integers(1, 50, 2000)[:, None] * [1.0, 1.0]
    pts = np.vstack([
        rng.uniform(0, (n - 1) * 100.0, (20_000, 2)) + [X0, Y0],
        diagonal,
        corner + 50.0,                                                    # cell centres: four roads, 50 m
        xy[rng.integers(0, len(xy), 500)],                                # on junctions
    ])
    pos, hit = idx._grid_cells(pts)
    assert (hit & (idx.pad[1][pos] > 0)).mean() > 0.9
    # The whole search (grid round written straight into the outputs, then the tree for the rest), with
    # crowded cells left to the ragged lists (PAD_WIDTH 2) and without, and with most points looking at
    # their cell's whole row (PAD_FIRST 1).
    for pad_width, pad_first in ((None, _SnapIndex.PAD_FIRST), (None, 1), (2, 1)):
        monkeypatch.setattr(_SnapIndex, "PAD_WIDTH", pad_width)
        monkeypatch.setattr(_SnapIndex, "PAD_FIRST", pad_first)
        fresh = RoadNetwork.from_roads(roads)._segments
        compiled = fresh.nearest(pts, 45.0)
        monkeypatch.setattr(index, "_snapgrid", None)
        reference = fresh.nearest(pts, 45.0)
        monkeypatch.undo()
        assert (reference[0] == -1).any() and (reference[0] >= 0).mean() > 0.5
        for got, expected in zip(compiled, reference):
            np.testing.assert_array_equal(got, expected)


def test_min_per_pair_matches_lexsort_reference():
    from geoplan.network.graph import _min_per_pair

    rng = np.random.default_rng(3)
    n = 30
    rows = rng.integers(0, n, 2000)
    cols = rng.integers(0, n, 2000)
    data = rng.integers(0, 5, 2000).astype(float)          # many equal weights: ties by input order
    order = np.lexsort((data, cols, rows))
    first = np.ones(len(order), dtype=bool)
    first[1:] = (rows[order][1:] != rows[order][:-1]) | (cols[order][1:] != cols[order][:-1])
    np.testing.assert_array_equal(_min_per_pair(rows, cols, data, n), order[first])


def test_component_table_matches_groupby_reference():
    # 40 separate chains of varying length whose edges carry few or many
    # distinct road IDs (a road cut at junctions gives several edges).
    rng = np.random.default_rng(5)
    xy, u, v, ids = [], [], [], []
    for c in range(40):
        k = int(rng.integers(1, 150))
        base = len(xy)
        xy += [(10_000.0 * c + 10 * i, 0.0) for i in range(k + 1)]
        u += range(base, base + k)
        v += range(base + 1, base + k + 1)
        ids += [f"c{c}r{rng.integers(0, 1 + c % 9)}" for _ in range(k)]
    xy = np.array(xy)
    geoms = shapely.linestrings(np.stack([xy[u], xy[v]], axis=1))
    edges = gpd.GeoDataFrame({"u": u, "v": v, "road_id": ids, "road_class": "tertiary", "speed_kmh": 40.0,
                              "oneway": False, "length_m": 10.0, "seconds": 0.9}, geometry=geoms, crs=GK)
    net = RoadNetwork(xy, edges, edges.crs, DEFAULT_SPEEDS_KMH)
    e = net.edges
    g = e.groupby("component")
    want = pd.DataFrame({
        "n_edges": g.size(),
        "length_km": g["length_m"].sum() / 1000.0,
        "road_ids": g["road_id"].agg(lambda s: ", ".join(pd.unique(s)[:5]) + (" …" if s.nunique() > 5 else "")),
    })
    want["n_nodes"] = np.bincount(net.node_component)[want.index.to_numpy()]
    want.index.name = "component"
    want = want.reset_index()[["component", "n_nodes", "n_edges", "length_km", "road_ids"]]
    got = net.connectivity_report()
    pd.testing.assert_frame_equal(got, want, check_dtype=False, check_exact=False, rtol=1e-12)


_ID_LABELS = [np.array(["F0", "F1", "F2"], dtype=object), np.array([3, 1, 2])]
_STATUS = np.array(["ok", "unreachable", "not_snapped"])


# Facility IDs may be missing (-1); status labels never are.
@pytest.mark.parametrize("labels, codes", [(lab, c) for lab in _ID_LABELS
                                           for c in ([0, 2, -1, 2], [1, 1], [-1, -1], [])]
                         + [(_STATUS, c) for c in ([0, 2, 1, 2], [1, 1], [])])
def test_take_labels_matches_pd_array(labels, codes):
    from geoplan.network.graph import _take_labels

    codes = np.array(codes, dtype=np.int64)
    got = _take_labels(labels, codes)
    if labels.dtype.kind == "U":
        want = pd.Series(labels[codes]).array if len(codes) else pd.Series(np.array([], dtype="U1")).array
    else:
        want = pd.array(np.where(codes >= 0, labels.astype(object)[np.clip(codes, 0, None)], None))
    pd.testing.assert_series_equal(pd.Series(got), pd.Series(want))
