"""Errors of the library's own arguments, as a planner meets them in a notebook: Chinese by default, English on request.

Each case calls the public API with one bad argument. The Chinese message must
hold no English words but the argument's own name and the values given; the
English one no Chinese. The values (numbers, IDs) are the same in both.
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pytest
import shapely
from click.testing import CliRunner

from geoplan import i18n
from geoplan.errors import GeoplanError

GK = "EPSG:4549"
HAN = re.compile(r"[\u3400-\u9fff]")
#: words a Chinese message may hold as they are: model and file-format names, units, and NaN
ALLOWED = {"mclp", "pmedian", "id", "nan", "html", "png", "pdf", "geoplan", "gaz", "init", "db", "lu", "an", "inf"}


@pytest.fixture(autouse=True)
def restore_language():
    yield
    i18n.set_language(None)


@pytest.fixture(scope="module")
def net():
    from geoplan.network.graph import RoadNetwork

    x0, y0 = 500_000.0, 3_250_000.0
    lines = [[(x0, y0), (x0 + 1000, y0)], [(x0 + 1000, y0), (x0 + 1000, y0 + 1000)]]
    roads = gpd.GeoDataFrame({"road_id": ["r1", "r2"], "road_class": "tertiary"},
                             geometry=[shapely.LineString(ln) for ln in lines], crs=GK)
    return RoadNetwork.from_roads(roads)


def points(xy, prefix="p"):
    return gpd.GeoDataFrame({"pid": [f"{prefix}{i}" for i in range(len(xy))]},
                            geometry=shapely.points(np.asarray(xy, dtype=float)), crs=GK)


def words(text: str, *data: str) -> set[str]:
    """English words of ``text``: identifiers with an underscore (argument names) and ``data`` taken out."""
    for d in data:
        text = text.replace(d, " ")
    text = re.sub(r"'[^']*'", " ", text)                   # values given, and the choices (as code)
    text = re.sub(r"--?[a-z][a-z-]*", " ", text)          # options
    text = re.sub(r"\b\w*_\w*\b", " ", text)               # argument names
    return {w for w in re.findall(r"[A-Za-z]{2,}", text) if w.lower() not in ALLOWED}


def numbers(text: str) -> list[str]:
    return sorted(re.findall(r"\d+(?:\.\d+)?", text))


def cost():
    return np.array([[1.0, 5.0], [4.0, 2.0], [3.0, 3.0]])


def case_mclp_radius():
    from geoplan.coverage.siting import MCLP

    return lambda net: MCLP.from_cost_matrix(cost(), weights=[1, 2, 3], service_radius=-2.5, p_facilities=1), \
        "服务半径", "service radius"


def case_pmedian_weights():
    from geoplan.coverage.siting import PMedian

    return lambda net: PMedian.from_cost_matrix(cost(), weights=[1, 2], p_facilities=1), "2 个值", \
        "2 values for 3 rows", ("weights",)


def case_lscp_negative_cost():
    from geoplan.coverage.siting import LSCP

    c = cost()
    c[2, 1] = -7
    return lambda net: LSCP.from_cost_matrix(c, service_radius=3), "成本须 ≥ 0", "Costs must be ≥ 0"


def case_p_and_n_new():
    from geoplan.coverage.siting import PMedian

    return lambda net: PMedian.from_cost_matrix(cost(), weights=[1, 2, 3]).solve(), "须且只须给一个", \
        "Give exactly one of"


def case_snap_distance():
    return lambda net: net.snap(points([(500_100, 3_250_010)]), "pid", max_distance_m=-5), "max_distance_m 须为", \
        "max_distance_m must be"


def case_direction():
    return lambda net: net.nearest_facility(points([(500_100, 3_250_010)]), points([(500_900, 3_250_010)], "f"),
                                            "pid", "pid", direction="sideways"), "direction 须为", \
        "direction must be one of", ("direction",)


def case_cutoff():
    return lambda net: net.cost_matrix(points([(500_100, 3_250_010)]), points([(500_900, 3_250_010)], "f"),
                                       "pid", "pid", cutoff_min=-1), "cutoff_min 须为", "cutoff_min must be"


def case_zonal_raster():
    from geoplan.coverage.zonal import zonal_sum
    from geoplan.layers.io import PopulationRaster
    from affine import Affine
    from pyproj import CRS

    raster = PopulationRaster(np.zeros((2, 3, 4)), Affine(100, 0, 500_000, 0, -100, 3_251_000), CRS.from_epsg(4549),
                              "x.tif")
    polys = gpd.GeoDataFrame({"pid": ["a"]}, geometry=[shapely.box(500_000, 3_250_800, 500_200, 3_251_000)], crs=GK)
    return lambda net: zonal_sum(polys, raster, "pid"), "栅格须为二维", "must be 2-D"


def case_exact_tsp():
    from geoplan.inspection.tours import exact_tsp

    return lambda net: exact_tsp(np.ones((17, 17))), "最多用于 16 个地点", "at most 16 locations, got 17"


def case_tsp_unreachable():
    from geoplan.inspection.tours import exact_tsp

    m = np.ones((3, 3))
    m[0, 2] = np.inf
    return lambda net: exact_tsp(m), "无法到达", "cannot be reached"


def case_vrp_method():
    from geoplan.inspection.routing import solve_vrp

    return lambda net: solve_vrp(np.ones((3, 3)), np.zeros(3), [0], [1], method="fastest"), "method 须为", \
        "method must be one of", ("method",)


def case_vrp_too_far():
    from geoplan.inspection.routing import solve_vrp

    m = np.array([[0.0, 10.0, 90.0], [10.0, 0.0, 90.0], [90.0, 90.0, 0.0]])
    return lambda net: solve_vrp(m, np.zeros(3), [0], [2], max_duration=60), "无法在路线时限（60）内完成", \
        "cannot be served within the route limit (60)"


CASES = [v for k, v in sorted(globals().items()) if k.startswith("case_")]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__[5:])
def test_api_errors_in_chinese_and_english(net, case):
    # A case: the call, a fragment of each message, and the argument names the message may name.
    call, zh_fragment, en_fragment, *names = case()
    names = names[0] if names else ()
    out = {}
    for lang in ("zh_CN", "en"):
        i18n.set_language(lang)
        with pytest.raises(GeoplanError) as info:
            call(net)
        out[lang] = str(info.value)
    zh, en = out["zh_CN"], out["en"]
    assert zh_fragment in zh, zh
    assert en_fragment in en, en
    assert not words(zh, *names), f"English words {words(zh, *names)} in the Chinese message:\n{zh}"
    assert not HAN.search(en), f"Chinese in the English message:\n{en}"
    assert set(numbers(zh)) == set(numbers(en)), f"{zh}\n---\n{en}"


@pytest.mark.parametrize("args, zh_fragment, en_fragment", [
    (["gaz", "add", "南岩村", "-c", "1220", "--parent", "330624104", "--lon", "120.95"],
     "请同时给出 --lon 和 --lat", "Give both --lon and --lat"),
    (["gaz", "add", "南岩村", "-c", "1220", "--parent", "330624104", "--force"],
     "--force 须同时给出 --why", "--force needs --why"),
])
def test_cli_usage_errors_in_chinese_and_english(tmp_path, args, zh_fragment, en_fragment):
    from geoplan.cli.main import main

    db = str(tmp_path / "g.sqlite")
    zh = CliRunner().invoke(main, [*args, "--db", db])
    en = CliRunner().invoke(main, ["--lang", "en", *args, "--db", db])
    assert zh.exit_code == 2 and zh_fragment in zh.output, zh.output
    assert en.exit_code == 2 and en_fragment in en.output, en.output
    assert not (tmp_path / "g.sqlite").exists()  # refused before anything was opened or made
