import warnings

import geopandas as gpd
import pytest
import shapely

# Real 新昌县 township codes and names (NBS 2022); the boxes are made up.
TOWNS = [
    ("330624001", "羽林街道", "街道", 52000, 11000),
    ("330624002", "南明街道", "街道", 61000, 12500),
    ("330624104", "回山镇", "镇", 9100, 3100),
]


@pytest.fixture
def towns():
    boxes = [shapely.box(120.80 + 0.05 * i, 29.40, 120.85 + 0.05 * i, 29.45) for i in range(len(TOWNS))]
    return gpd.GeoDataFrame(
        {
            "code": [t[0] for t in TOWNS],
            "name": [t[1] for t in TOWNS],
            "kind": [t[2] for t in TOWNS],
            "county_code": ["330624"] * len(TOWNS),
            "population": [t[3] for t in TOWNS],
            "pop_60plus": [t[4] for t in TOWNS],
        },
        geometry=boxes,
        crs="EPSG:4490",
    )


@pytest.fixture
def centres():
    """Home-care centres and an institution as a plain table with lon/lat (a planner's spreadsheet)."""
    import pandas as pd

    return pd.DataFrame(
        {
            "facility_id": ["E1", "E2", "E3"],
            "name": ["羽林街道居家养老服务中心", "南明街道居家养老服务中心", "新昌县社会福利院"],
            "kind": ["居家养老服务中心", "居家养老服务中心", "养老机构"],
            "township_code": ["330624001", "330624002", "330624002"],
            "status": ["运营", "operating", "运营"],
            "opened": [2019, 2021, 2008],
            "beds": ["", "", 300],
            "nursing_beds": ["", "", 160],
            "lon": [120.825, 120.875, 120.880],
            "lat": [29.425, 29.425, 29.430],
        }
    )


@pytest.fixture(autouse=True)
def _language_back_to_default():
    """Every test starts in the default language (Chinese).

    The CLI's ``--lang en`` sets the language for the whole process (and
    LANGUAGE for click's texts): a test that runs it, or calls
    ``set_language``, would otherwise leave every later test in English.
    """
    import os

    from geoplan import i18n

    saved = os.environ.get("LANGUAGE")
    yield
    i18n.set_language(None)
    if saved is None:
        os.environ.pop("LANGUAGE", None)
    else:
        os.environ["LANGUAGE"] = saved


@pytest.fixture(autouse=True)
def _quiet_gdal_warnings():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*field name.*")
        warnings.filterwarnings("ignore", message="Column names longer than 10")
        yield


# ---------------------------------------------------------------- gazetteer backends
def _pg_base_url():
    """The development PostgreSQL server's URL: $GEOPLAN_TEST_PG, else the one scripts/start_postgres.sh
    wrote, starting the server through that script if nothing answers. None (with the reason) if it cannot."""
    import getpass
    import os
    import subprocess
    from pathlib import Path

    try:
        import psycopg
    except ImportError:
        return None, "psycopg 3 未安装 (pip install 'psycopg[binary]>=3.1')"
    url_file = Path(os.environ.get("GEOPLAN_PG_DIR") or f"/tmp/geoplan-pg-{getpass.getuser()}") / "url"

    def reachable(url):
        try:
            psycopg.connect(url, connect_timeout=5).close()
            return True
        except psycopg.Error:
            return False

    url = os.environ.get("GEOPLAN_TEST_PG") or (url_file.read_text().strip() if url_file.exists() else None)
    if url and reachable(url):
        return url, None
    if os.environ.get("GEOPLAN_TEST_PG"):
        return None, f"GEOPLAN_TEST_PG={os.environ['GEOPLAN_TEST_PG']} 连接不上"
    script = Path(__file__).resolve().parents[1] / "scripts" / "start_postgres.sh"
    try:
        res = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"scripts/start_postgres.sh 无法运行：{exc}"
    url = res.stdout.strip().splitlines()[-1] if res.returncode == 0 and res.stdout.strip() else None
    if url and reachable(url):
        return url, None
    return None, f"PostgreSQL 服务器无法启动（scripts/start_postgres.sh 退出码 {res.returncode}）：{res.stderr[-500:]}"


@pytest.fixture(scope="session")
def pg_server():
    """URL of a running PostgreSQL/PostGIS server, or a skip that says why it could not be started."""
    import os

    url, why = _pg_base_url()
    if url is None:
        if os.environ.get("CI"):  # CI starts the server (README command 1): a missing server is a failure there
            pytest.fail(f"PostgreSQL 不可用：{why}")
        pytest.skip(f"PostgreSQL 不可用，跳过：{why}")
    return url


@pytest.fixture
def pg_url(pg_server):
    """A fresh, empty PostgreSQL gazetteer location: its own schema in the test database, dropped afterwards."""
    import uuid

    import psycopg

    schema = "gz_test_" + uuid.uuid4().hex[:12]
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in pg_server else "?"
    yield f"{pg_server}{sep}options=-csearch_path%3D{schema},public"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def gaz_db(request, tmp_path):
    """Where a new gazetteer goes, on each backend: a SQLite file path, or a fresh PostgreSQL URL."""
    if request.param == "sqlite":
        return tmp_path / "g.sqlite"
    return request.getfixturevalue("pg_url")


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """The demo on 新昌 (330624), run once in Chinese (the default) and shared: ``(out folder, completed process)``.

    tests/test_demo.py checks what it computes, tests/test_i18n_scan.py scans every file it writes; the demo
    takes minutes, so it is not run twice.
    """
    import os
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("demo_330624")
    env = {k: v for k, v in os.environ.items() if k not in ("GEOPLAN_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")}
    res = subprocess.run([sys.executable, "-m", "geoplan.cli.main", "demo", "--county", "330624", "--out", str(out)],
                         capture_output=True, text=True, env=env)
    return out, res


@pytest.fixture(scope="session")
def demo_run_en(tmp_path_factory):
    """The same demo with ``GEOPLAN_LANG=en``: ``(out folder, completed process)`` (tests/test_i18n_scan.py)."""
    import os
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("demo_330624_en")
    env = {k: v for k, v in os.environ.items() if k not in ("GEOPLAN_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")}
    env["GEOPLAN_LANG"] = "en"
    res = subprocess.run([sys.executable, "-m", "geoplan.cli.main", "demo", "--county", "330624", "--out", str(out)],
                         capture_output=True, text=True, env=env)
    return out, res
