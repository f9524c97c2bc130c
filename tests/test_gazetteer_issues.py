"""Regression tests for the gazetteer defects of issues 21 (user files, formulas, overwrites) and 17
(real place names). Each test failed on the code before the fix (commit 2af2473).

Tests of the gazetteer's behaviour run on both backends (``db``/``sample_db`` on
the ``gaz_db`` fixture: a SQLite file and a PostgreSQL/PostGIS schema). Those about
a *file* given as ``--db`` (a GeoPackage, notes, an empty file) are SQLite-only:
a PostgreSQL URL is never a user's file."""

import csv
import datetime as dt
import gzip
import hashlib
import io
import json
import os
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from geoplan.cli.gaz import gaz
from geoplan.gazetteer import store as gz

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "layers" / "330624.gpkg"
VILLAGES_GZ = ROOT / "data" / "raw" / "divisions_2023" / "villages.csv.gz"
STREETS_GZ = ROOT / "data" / "raw" / "divisions_2023" / "streets.csv.gz"
FORMULAS = ['=HYPERLINK("http://x","y")', "=1+1", "+SUM(1)", "@cmd", "-2+3"]


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def cli(*args, db=None, env=None):
    extra = ["--db", str(db)] if db is not None else []
    return CliRunner().invoke(gaz, [*map(str, args), *extra], env=env)


@pytest.fixture
def db(gaz_db):
    s = gz.Gazetteer(gaz_db, create=True)
    s.add("回山镇", "1120", "330624", name_id="330624104", who="t")
    s.add("儒岙镇", "1120", "330624", name_id="330624110", who="t")
    s.close()
    return gaz_db


def formula_csv(path: Path) -> Path:
    rows = [{"name_id": f"V{k}", "name": n, "category": "1220", "parent_code": "330624104", "origin": f,
             "meaning": f, "sources": f} for k, (n, f) in enumerate(zip(["南岩村", "下垟村", "东山村", "西坑村", "上宅村"],
                                                                      FORMULAS))]
    pd.DataFrame(rows).to_csv(path, index=False, encoding="utf-8-sig")
    return path


# ---------------------------------------------------------------- issue 21.1: formulas
def test_export_writes_text_never_formulas_and_reads_back(tmp_path, db):
    src = formula_csv(tmp_path / "in.csv")
    res = cli("import", src, db=db)
    assert res.exit_code == 0, res.output
    assert cli("export", tmp_path / "out.xlsx", db=db).exit_code == 0
    assert cli("export", tmp_path / "out.csv", db=db).exit_code == 0
    ws = openpyxl.load_workbook(tmp_path / "out.xlsx").active
    header = [c.value for c in ws[1]]
    cells = [c for row in ws.iter_rows(min_row=2) for c in row]
    assert cells and not [c.coordinate for c in cells if c.data_type == "f"]
    origins = {ws.cell(r, header.index("name") + 1).value: ws.cell(r, header.index("origin") + 1).value
               for r in range(2, ws.max_row + 1)}
    assert origins["南岩村"] == FORMULAS[0] and origins["西坑村"] == "@cmd"
    # CSV: no cell starts with a formula character (numbers aside), per OWASP.
    text = (tmp_path / "out.csv").read_text(encoding="utf-8-sig")
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            assert not cell[:1] in ("=", "+", "@", "\t", "\r"), cell
            assert not (cell[:1] == "-" and not cell.lstrip("-").replace(".", "").isdigit()), cell
    # geoplan reads its own CSV back exactly.
    fresh = tmp_path / "n.sqlite"
    assert cli("init", db=fresh).exit_code == 0
    assert cli("import", tmp_path / "out.csv", db=fresh).exit_code == 0
    got = gz.Gazetteer(fresh).frame().set_index("name")
    assert got.loc["南岩村", "origin"] == FORMULAS[0] and got.loc["上宅村", "meaning"] == "-2+3"


def test_rejected_report_escapes_formulas(tmp_path, db):
    src = tmp_path / "bad.csv"
    pd.DataFrame({"name_id": ["B1", "B2"], "name": ["=1+1", "南岩村"], "category": ["1220", "1220"],
                  "parent_code": ["330624104", "330624104"]}).to_csv(src, index=False)
    res = cli("import", src, "--json", db=db)
    report = tmp_path / "bad_rejected.csv"
    assert report.exists(), res.output
    text = report.read_text(encoding="utf-8-sig")
    assert "'=1+1" in text and "\n=1+1" not in text and ",=1+1" not in text
    assert "row row" not in text


# ---------------------------------------------------------------- issue 21.2: a user's file
# SQLite only: these are about a user's file given as --db, left byte for byte as it was.
@pytest.mark.parametrize("args", [["list"], ["add", "南岩村", "-c", "1220", "--parent", "330624104"], ["init"],
                                  ["show", "回山镇"], ["search", "回山"], ["history", "回山镇"]])
def test_geopackage_given_as_gazetteer_is_refused_unchanged(tmp_path, args):
    gpkg = tmp_path / "layers.gpkg"
    shutil.copy(SAMPLE, gpkg)
    before = sha(gpkg)
    res = cli(*args, db=gpkg)
    assert res.exit_code == 1, res.output
    assert "不是 geoplan 地名库" in res.output and "GeoPackage" in res.output
    assert "Traceback" not in res.output
    assert sha(gpkg) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["layers.gpkg"]  # no -wal/-shm left either


def test_init_refuses_any_other_file_but_takes_an_empty_one(tmp_path):
    notes = tmp_path / "notes.sqlite"
    notes.write_text("委员会会议记录\n", encoding="utf-8")
    before = sha(notes)
    res = cli("init", db=notes)
    assert res.exit_code == 1 and "不是 geoplan 地名库" in res.output and sha(notes) == before
    other = tmp_path / "other.sqlite"
    import sqlite3

    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    before = sha(other)
    assert cli("init", db=other).exit_code == 1 and sha(other) == before
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    assert cli("list", db=empty).exit_code == 1 and empty.stat().st_size == 0
    assert cli("init", db=empty).exit_code == 0 and gz.Gazetteer(empty).count() == 0


# ---------------------------------------------------------------- issue 21.3: no overwrite
def test_dry_run_keeps_an_existing_rejected_report(tmp_path, db):
    src = tmp_path / "in.csv"
    pd.DataFrame({"name_id": ["B1"], "name": ["回山镇"], "category": ["1120"], "parent_code": ["330624"]}
                 ).to_csv(src, index=False)
    notes = tmp_path / "in_rejected.csv"
    notes.write_text("my notes\n", encoding="utf-8")
    res = cli("import", src, "--dry-run", db=db)
    assert notes.read_text(encoding="utf-8") == "my notes\n"
    new = tmp_path / "in_rejected-2.csv"
    assert new.exists() and str(new) in res.output
    # A named report that exists needs --overwrite; refused before anything is done.
    res = cli("import", src, "--report", notes, db=db)
    assert res.exit_code == 1 and "--overwrite" in res.output
    assert notes.read_text(encoding="utf-8") == "my notes\n"
    assert cli("import", src, "--report", notes, "--overwrite", db=db).exit_code == 1  # all rejected
    assert "回山镇" in notes.read_text(encoding="utf-8-sig")


def test_export_refuses_to_overwrite(tmp_path, db):
    out = tmp_path / "地名库.csv"
    out.write_text("keep", encoding="utf-8")
    res = cli("export", out, db=db)
    assert res.exit_code == 1 and "--overwrite" in res.output and out.read_text(encoding="utf-8") == "keep"
    assert cli("export", out, "--overwrite", db=db).exit_code == 0
    assert "回山镇" in out.read_text(encoding="utf-8-sig")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temp files left


# ---------------------------------------------------------------- issue 21.4/21.5
def test_import_with_every_row_rejected_exits_nonzero(tmp_path, db):
    src = tmp_path / "dup.csv"
    pd.DataFrame({"name": ["回山镇", "儒岙镇"], "category": ["1120", "1120"], "parent_code": ["330624", "330624"]}
                 ).to_csv(src, index=False)
    before = sha(db) if isinstance(db, Path) else db
    res = cli("import", src, db=db)
    assert res.exit_code == 1 and "没有导入任何地名" in res.output
    assert gz.Gazetteer(db).count() == 2
    rep = pd.read_csv(tmp_path / "dup_rejected.csv", encoding="utf-8-sig")
    assert rep["row"].tolist() == ["第 2 行", "第 3 行"]
    assert not rep["reason"].str.contains("row row").any()
    assert before  # the database file itself may be checkpointed, its content is compared above


def test_parent_cycles_are_refused(tmp_path, db):
    src = tmp_path / "cycle.csv"
    a, b, c = "330624104901", "330624104902", "330624104903"
    pd.DataFrame({"name_id": [a, b, c], "name": ["甲村", "乙村", "丙村"], "category": ["1220"] * 3,
                  "parent_code": [b, a, "330624104"]}).to_csv(src, index=False)
    res = cli("import", src, "--json", db=db)
    out = json.loads(res.output[: res.output.rindex("}") + 1])
    assert (out["added"], out["rejected"]) == (1, 2)
    rep = pd.read_csv(out["report"], encoding="utf-8-sig", dtype=str)
    assert set(rep["name_id"]) == {a, b} and rep["reason"].str.contains("循环").all()
    s = gz.Gazetteer(db)
    s.add("南岩村", "1220", "330624104", name_id="330624104905")
    with pytest.raises(gz.RecordError, match="循环"):
        s.move("330624104", "330624104905")


def test_hidden_sheet_is_not_imported_as_if_visible(tmp_path, db):
    wb = openpyxl.Workbook()
    draft = wb.active
    draft.title = "草稿"
    draft.append(["name", "category", "parent_code"])
    draft.append(["废弃村", "1220", "330624104"])
    draft.sheet_state = "hidden"
    ok = wb.create_sheet("正式")
    ok.append(["name", "category", "parent_code"])
    ok.append(["南岩村", "1220", "330624104"])
    path = tmp_path / "book.xlsx"
    wb.save(path)
    assert cli("import", path, db=db).exit_code == 0
    names = set(gz.Gazetteer(db).frame()["name"])
    assert "南岩村" in names and "废弃村" not in names
    res = cli("import", path, "--layer", "草稿", db=db)
    assert res.exit_code == 1 and "隐藏" in res.output


def test_import_gcj02_converts_web_map_coordinates(tmp_path, db):
    from geoplan.layers import crs as gcrs

    src = tmp_path / "pts.csv"
    pd.DataFrame({"name": ["南岩村"], "category": ["1220"], "parent_code": ["330624104"], "lon": [120.95],
                  "lat": [29.38]}).to_csv(src, index=False)
    other = tmp_path / "g2.sqlite"
    gz.copy_gazetteer(db, other).close()  # the same gazetteer, from either backend, as a second file
    assert cli("import", src, "--gcj02", db=db).exit_code == 0
    assert cli("import", src, db=other).exit_code == 0
    import shapely

    conv = shapely.from_wkt(gz.Gazetteer(db).resolve("南岩村")["geometry"])
    raw = shapely.from_wkt(gz.Gazetteer(other).resolve("南岩村")["geometry"])
    x, y = gcrs.gcj02_to_wgs84_xy([120.95], [29.38])
    assert (raw.x, raw.y) == (120.95, 29.38)
    assert abs(conv.x - x[0]) < 1e-6 and abs(conv.y - y[0]) < 1e-6 and abs(conv.x - 120.95) > 1e-3


# ---------------------------------------------------------------- issue 17
@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def sample_db(request, tmp_path_factory):
    """The sample county seeded once per module and backend (seeding takes a while), 城南乡 renamed."""
    import uuid

    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sample") / "s.sqlite"
    else:  # a schema of its own for the module (gaz_db's are per test)
        import psycopg

        server = request.getfixturevalue("pg_server")
        schema = "gz_test_" + uuid.uuid4().hex[:12]
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")

        def drop():
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")

        request.addfinalizer(drop)
        path = f"{server}{'&' if '?' in server else '?'}options=-csearch_path%3D{schema},public"
    s, rejected = gz.seed_from_county(path, SAMPLE)
    assert rejected.empty
    s.rename("城南乡", "城南镇", date="2024-01-01")
    s.close()
    return path


def test_search_as_of_has_no_traceback(sample_db):
    res = cli("search", "城南", "--as-of", "2020-01-01", "--json", db=sample_db)
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)[0]["name"] == "城南乡"
    res = cli("search", "回山", "--as-of", "2020-01-01", db=sample_db)
    assert res.exit_code == 0 and "回山镇" in res.output


@pytest.mark.parametrize("typo, name", [("会山", "回山镇"), ("如岙", "儒岙镇"), ("会山镇", "回山镇")])
def test_same_sound_typos_find_the_name(sample_db, typo, name):
    res = cli("search", typo, "--json", db=sample_db)
    assert res.exit_code == 0
    # 回山镇 has a real village 回山村 too: both sound like the typo, so the town is among the first few
    assert name in [r["name"] for r in json.loads(res.output)[:3]]


def test_parent_not_in_official_list_is_refused(tmp_path, db):
    res = cli("add", "南岩村", "-c", "1220", "--parent", "330624999", db=db)
    assert res.exit_code == 1 and "330624999" in res.output and "不存在" in res.output
    src = tmp_path / "v.csv"
    pd.DataFrame({"name": ["南岩村", "北岩村"], "category": ["1220"] * 2, "parent_code": ["330624999", "330624104"]}
                 ).to_csv(src, index=False)
    res = cli("import", src, "--json", db=db)
    out = json.loads(res.output)
    assert (out["added"], out["rejected"]) == (1, 1)
    # A unit added to the gazetteer itself (newer than the list) is a valid parent.
    gz.Gazetteer(db).add("新区街道", "1120", "330624", name_id="330624005")
    assert cli("add", "新区社区", "-c", "1210", "--parent", "330624005", db=db).exit_code == 0


def test_export_as_of_shows_the_old_generic_and_readable_former_names(tmp_path, sample_db):
    out = tmp_path / "old.csv"
    assert cli("export", out, "--as-of", "2023-06-01", db=sample_db).exit_code == 0
    df = pd.read_csv(out, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    row = df[df["name"] == "城南乡"].iloc[0]
    assert (row["specific"], row["generic"], row["roman"]) == ("城南", "乡", "Chengnan Xiang")
    now = tmp_path / "now.csv"
    assert cli("export", now, db=sample_db).exit_code == 0
    df = pd.read_csv(now, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    former = df[df["name"] == "城南镇"].iloc[0]["former_names"]
    assert former.startswith("城南乡（") and "2024-01-01" in former and "{" not in former and "[" not in former


def test_change_log_is_in_china_time(db):
    s = gz.Gazetteer(db)
    at = s.conn.execute("SELECT at FROM changes ORDER BY change_id DESC LIMIT 1").fetchone()[0]
    assert at.endswith("+08:00")
    shown = s.history("回山镇").iloc[0]["at"]
    utc = dt.datetime.fromisoformat(at).astimezone(dt.timezone.utc)
    assert shown == (utc + dt.timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")


def test_categories_say_they_are_provisional():
    res = cli("categories")
    assert res.exit_code == 0 and "暂定" in res.output and "GB/T 18521" in res.output
    assert json.loads(cli("categories", "--json").output)["provisional"] is True


def _official_county(tmp_path, county="330624"):
    """新昌县's official 2023 townships and villages, as the two raw files are shipped (filtered to one county)."""
    streets = pd.read_csv(STREETS_GZ, dtype=str)
    villages = pd.read_csv(VILLAGES_GZ, dtype=str)
    s, v = streets[streets["areaCode"] == county], villages[villages["areaCode"] == county]
    s.to_csv(tmp_path / "streets.csv", index=False)
    v.to_csv(tmp_path / "villages.csv", index=False)
    return s, v


def test_import_official_villages_with_categories_and_committee(tmp_path, gaz_db):
    streets, villages = _official_county(tmp_path)
    db = gaz_db
    assert cli("init", db=db).exit_code == 0
    res = cli("import", tmp_path / "streets.csv", "--map", "name_id=code", "--map", "parent_code=areaCode",
              "--category-from-code", "code", db=db)
    assert res.exit_code == 0, res.output
    res = cli("import", tmp_path / "villages.csv", "--map", "name_id=code", "--map", "parent_code=streetCode",
              "--category-from-code", "code", "--json", db=db)
    out = json.loads(res.output)
    s = gz.Gazetteer(db)
    got = s.frame(category=["1210", "1220"]).set_index("name_id")
    # Independent reference: the NBS code rule applied to the raw file (001–199 居委会, 400–499 类似居委会).
    seg = villages["code"].str[9:12].astype(int)
    want_communities = set(villages.loc[(seg < 200) | ((seg >= 400) & (seg < 500)), "code"])
    assert set(got.index[got["category"] == "1210"]) == want_communities - set(pd.read_csv(out["report"], dtype=str)["name_id"]
                                                                              if out["report"] else [])
    assert out["added"] + out["rejected"] == len(villages) and out["added"] > 0.9 * len(villages)
    assert not got["name"].str.contains("委员会|委会").any()
    committee = dict(zip(villages["code"], villages["name"]))
    suffixes = ("村民委员会", "居民委员会", "村委会", "居委会")
    assert all(got.loc[i, "committee"] == (committee[i] if committee[i].endswith(suffixes) else None)
               for i in got.index)
    one = villages[villages["name"].str.endswith("村委会")].iloc[0]
    rec = s.resolve(one["code"])
    assert rec["name"] == one["name"][:-2] and rec["roman"].endswith(" Cun") and "Cunweihui" not in rec["roman"]


def test_search_index_is_kept_and_rebuilt_only_after_a_change(tmp_path, db):
    cache = tmp_path / "cache"
    s = gz.Gazetteer(db)
    first = gz.SearchIndex.cached(s, cache)
    assert first.cache_hit is False and len(list(cache.iterdir())) == 1
    again = gz.SearchIndex.cached(s, cache)
    assert again.cache_hit is True and again.n == first.n
    other = gz.Gazetteer(db)  # another process's change
    other.add("沙溪镇", "1120", "330624", name_id="330624108")
    fresh = gz.SearchIndex.cached(s, cache)
    assert fresh.cache_hit is False and fresh.search("沙溪镇").iloc[0]["name_id"] == "330624108"
    assert gz.SearchIndex.cached(s, cache).cache_hit is True
    # The CLI uses it (GEOPLAN_CACHE): the second call reads the cache file.
    env = {"GEOPLAN_CACHE": str(tmp_path / "cli-cache")}
    assert cli("search", "沙溪", db=db, env=env).exit_code == 0
    assert len(list((tmp_path / "cli-cache").iterdir())) == 1


WRITER = """
import sys
from geoplan.gazetteer import store as gz
s = gz.Gazetteer(sys.argv[1])
chars = "东南西北上下前后左右大小新老金银石竹松柏"
for i in range(int(sys.argv[2])):
    s.add(f"{chars[i // 20]}{chars[i % 20]}村", "1220", "330624104", who="writer")
"""


def test_cached_index_matches_its_counter_under_a_concurrent_writer(tmp_path, db):
    """Each index holds exactly the names of the change counter it is filed under, while another process writes."""
    import subprocess
    import sys

    s = gz.Gazetteer(db)
    base_n, (_, base_counter) = s.count(), s.version_key()
    p = subprocess.Popen([sys.executable, "-c", WRITER, str(db), "40"], env={**os.environ, "PYTHONPATH": str(ROOT)})
    seen = set()
    while p.poll() is None or len(seen) < 2:
        index = gz.SearchIndex.cached(s, tmp_path / "cache")
        assert index.n == base_n + (index.key[1] - base_counter), (index.n, index.key)
        seen.add(index.key[1])
        if p.poll() is not None and len(seen) >= 2:
            break
    assert p.wait(120) == 0
    final = gz.SearchIndex.cached(s, tmp_path / "cache")
    assert final.n == base_n + 40 and final.key[1] == base_counter + 40


def test_cached_index_answers_like_a_fresh_one(tmp_path, sample_db):
    s = gz.Gazetteer(sample_db)
    fresh = gz.SearchIndex.from_store(s)
    gz.SearchIndex.cached(s, tmp_path)
    loaded = gz.SearchIndex.cached(s, tmp_path)
    assert loaded.cache_hit
    for q in ["回山", "xc", "会山", "回三镇", "huishan", "城南乡", "村"]:
        pd.testing.assert_frame_equal(loaded.search(q, limit=20), fresh.search(q, limit=20))


def test_as_of_shows_a_moved_place_under_its_old_parent(db):
    s = gz.Gazetteer(db)
    s.add("南岩村", "1220", "330624104", name_id="V1", valid_from="2000-01-01")
    s.move("V1", "330624110")
    yesterday = (dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date() - dt.timedelta(days=1)).isoformat()
    then = s.frame(as_of=yesterday).set_index("name_id")
    assert then.loc["V1", "parent_code"] == "330624104"
    assert s.frame().set_index("name_id").loc["V1", "parent_code"] == "330624110"
