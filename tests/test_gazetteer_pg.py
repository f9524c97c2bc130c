"""The gazetteer on both storage backends (SQLite file and PostgreSQL/PostGIS), and many writers at once on
PostgreSQL. The server comes from scripts/start_postgres.sh (tests/conftest.py: pg_server)."""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from geoplan.cli.gaz import gaz
from geoplan.gazetteer import naming
from geoplan.gazetteer import store as gz
from geoplan.gazetteer.records import _decode, _dump, COLUMNS

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "layers" / "330624.gpkg"


@pytest.fixture
def store(gaz_db):
    s = gz.Gazetteer(gaz_db, create=True)
    s.add("回山镇", "1120", "330624", name_id="330624104", geometry="POINT (121.07 29.43)", who="t")
    s.add("澄潭镇", "1120", "330624", name_id="330624004", valid_from="1992-05-01", who="t")
    s.add("大市聚镇", "1120", "330624", name_id="330624105", valid_from="1992-05-01", who="t")
    yield s
    s.close()


def test_backend_is_the_one_asked_for(store, gaz_db):
    assert store.backend == ("postgresql" if isinstance(gaz_db, str) else "sqlite")


def test_merge_rename_as_of_history_and_revert(store):
    store.merge(["大市聚镇"], into="澄潭镇", date="2019-01-01", who="alice", why="撤镇并镇")
    store.rename("澄潭镇", "澄潭街道", date="2019-06-01", who="bob")
    assert sorted(store.frame(as_of="2018-12-31")["name"]) == ["回山镇", "大市聚镇", "澄潭镇"]
    assert sorted(store.frame(as_of="2019-03-01")["name"]) == ["回山镇", "澄潭镇"]
    assert sorted(store.frame()["name"]) == ["回山镇", "澄潭街道"]
    assert store.resolve("大市聚镇")["status"] == "retired"
    hist = store.history("澄潭街道")
    assert hist["op"].tolist() == ["add", "merge", "rename"] and hist["who"].tolist() == ["t", "alice", "bob"]
    # Change numbers are consecutive on both backends (the revert below names one).
    assert store.changes()["change"].tolist() == [5, 4, 3, 2, 1]
    new = store.revert(5, who="carol")
    assert new == 6 and sorted(store.frame()["name"]) == ["回山镇", "澄潭镇"]
    with pytest.raises(gz.GazetteerError, match="already reverted"):
        store.revert(5)


def test_revert_refuses_when_later_change_exists(store):
    store.rename("回山镇", "回山街道", date="2020-01-01")
    first = int(store.history("回山街道").iloc[-1]["change"])
    store.retire("回山街道", date="2021-01-01")
    with pytest.raises(gz.GazetteerError, match="Revert the later change first"):
        store.revert(first)


def test_change_log_is_append_only_in_the_database(store):
    errors = (sqlite3.DatabaseError, gz.GazetteerError)
    for sql in ("UPDATE changes SET who = 'mallory'", "DELETE FROM change_items", "DELETE FROM changes"):
        with pytest.raises(errors, match="append-only"):
            store.conn.execute(sql)
    assert store.changes()["change"].tolist() == [3, 2, 1]


def test_rules_enforced_on_add_split_move_and_heritage(store):
    with pytest.raises(naming.NamingError, match="N010"):
        store.add("回山镇", "1120", "330624")
    store.add("回山镇", "1120", "330727", who="t")
    with pytest.raises(naming.NamingError, match="N030"):
        store.split("330624104", ["回山东", "回山乡"], date="2022-01-01")
    parts = store.split("330624104", ["回山乡", "新回山镇"], date="2022-01-01")
    assert [p["former_names"][0]["name"] for p in parts] == ["回山镇", "回山镇"]
    assert len({p["name_id"] for p in parts}) == 2
    store.add("东山村", "1220", "330624004", name_id="v1")
    store.add("东山村", "1220", "330624105", name_id="v2")
    with pytest.raises(naming.NamingError, match="N010"):
        store.move("v2", "330624004")
    store.set_heritage("澄潭镇", "省级", 2016)
    assert store.resolve("澄潭镇")["heritage_level"] == "省级"


def test_conflicting_change_is_refused_in_chinese(store, gaz_db):
    """Two clerks read 澄潭镇; the first one's rename is saved, the second's (on the old record) is refused."""
    other = gz.Gazetteer(gaz_db)
    try:
        stale = store.resolve("澄潭镇")
        other.edit("澄潭镇", origin="因澄潭江得名", who="甲")
        after = dict(stale, meaning="江水清澈")
        with pytest.raises(gz.ConflictError, match="其他人修改") as err:
            store._update("edit", "edit", [(stale, after)], "乙", None)
        assert "未保存" in str(err.value)
        assert store.resolve("澄潭镇")["meaning"] is None and store.resolve("澄潭镇")["origin"] == "因澄潭江得名"
    finally:
        other.close()


def test_search_validate_and_export_on_the_sample_county(gaz_db, tmp_path):
    s, rejected = gz.seed_from_county(gaz_db, SAMPLE)
    assert rejected.empty and s.count() > 250
    s.rename("城南乡", "城南镇", date="2024-01-01")
    idx = gz.SearchIndex.from_store(s)
    assert idx.search("xc").iloc[0]["name"] == "新昌县"
    assert idx.search("huishan", category="1120").iloc[0]["name"] == "回山镇"
    assert idx.search("城南乡").iloc[0]["name"] == "城南镇"
    assert naming.validate_all(s).columns.tolist() == naming.REPORT_COLUMNS
    out = gz.export(s, tmp_path / "e.csv")
    back, _ = gz.read_import_table(out)
    assert sorted(back["name_id"]) == sorted(s.frame()["name_id"])
    s.close()


def test_cli_on_either_backend(gaz_db):
    db = str(gaz_db)
    r = CliRunner()
    res = r.invoke(gaz, ["init", "--db", db])
    assert res.exit_code == 0, res.output
    for args in (["add", "回山镇", "-c", "1120", "--parent", "330624", "--id", "330624104"],
                 ["add", "下垟村", "-c", "1220", "--parent", "330624104", "--id", "V3"],
                 ["rename", "下垟村", "上垟村", "--date", "2024-01-01"],
                 ["retire", "上垟村", "--date", "2025-01-01"]):
        res = r.invoke(gaz, args + ["--db", db])
        assert res.exit_code == 0, res.output
    out = json.loads(r.invoke(gaz, ["list", "--as-of", "2023-06-01", "--db", db, "--json"]).output)
    assert sorted(x["name"] for x in out) == ["下垟村", "回山镇"]
    hist = json.loads(r.invoke(gaz, ["history", "V3", "--db", db, "--json"]).output)
    assert [h["op"] for h in hist] == ["add", "rename", "retire"]
    assert r.invoke(gaz, ["revert", "4", "--db", db]).exit_code == 0
    shown = json.loads(r.invoke(gaz, ["show", "V3", "--db", db, "--json"]).output)
    assert shown["status"] == "current" and shown["name"] == "上垟村"
    res = r.invoke(gaz, ["validate", "--db", db])
    assert res.exit_code == 0 and "0 error(s)" in res.output
    # The environment variable selects the database too.
    res = r.invoke(gaz, ["search", "shangyang", "--json"], env={gz.ENV_VAR: db})
    assert json.loads(res.output)[0]["name_id"] == "V3"


# ---------------------------------------------------------------- PostgreSQL only
def test_qgis_views_have_geometry_and_refuse_edits(pg_url):
    import psycopg

    s = gz.Gazetteer(pg_url, create=True)
    s.add("回山镇", "1120", "330624", name_id="330624104", geometry="POINT (121.07 29.43)", who="t")
    s.add("澄潭镇", "1120", "330624", name_id="330624004", who="t")
    s.retire("澄潭镇", date="2025-01-01")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        rows = conn.execute("SELECT name_id, ST_SRID(geom), ST_X(geom), ST_Y(geom) FROM current_names").fetchall()
        assert rows == [("330624104", 4490, 121.07, 29.43)]
        log = conn.execute("SELECT change_id, op, name_id FROM change_log ORDER BY change_id").fetchall()
        assert log == [(1, "add", "330624104"), (2, "add", "330624004"), (3, "retire", "330624004")]
        for sql in ("UPDATE current_names SET name = '改名镇'", "DELETE FROM change_log",
                    "TRUNCATE changes CASCADE"):
            with pytest.raises(psycopg.Error, match="只读|append-only"):
                conn.execute(sql)
    assert s.resolve("330624104")["name"] == "回山镇"
    s.close()


def test_not_a_gazetteer_and_unreachable_server_are_clear(pg_url):
    with pytest.raises(gz.GazetteerError, match="没有 geoplan 地名库"):
        gz.Gazetteer(pg_url)
    with pytest.raises(gz.GazetteerError, match="无法连接"):
        gz.Gazetteer("postgresql://nobody:secret@127.0.0.1:1/none")
    try:
        gz.Gazetteer("postgresql://nobody:secret@127.0.0.1:1/none")
    except gz.GazetteerError as exc:
        assert "secret" not in str(exc)


WRITER = """
import sys
from geoplan.gazetteer import store as gz
url, who, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = gz.Gazetteer(url)
conflicts = 0
for i in range(n):
    if i % 2 == 0:
        s.add(f"{who}{i}村", "1220", "330624104", who=who, force=True)
    else:
        while True:  # every rename appends to C0…C3's former names: a lost update would drop one
            try:
                s.rename(f"C{(i // 2) % 4}", f"{who}{i}号村", date="2024-01-01", who=who, force=True)
                break
            except gz.ConflictError:  # another clerk renamed it between our read and our write
                conflicts += 1
print(conflicts)
"""


def test_eight_writers_at_once_lose_nothing(pg_url):
    n = int(os.environ.get("GEOPLAN_PG_STRESS_EDITS", "60"))
    s = gz.Gazetteer(pg_url, create=True)
    for k, first in enumerate("东南西北"):
        s.add(f"{first}计数村", "1220", "330624104", name_id=f"C{k}", who="t")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    whos = [f"甲乙丙丁戊己庚辛"[k] for k in range(8)]
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, pg_url, w, str(n)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for w in whos]
    conflicts = 0
    for p in procs:
        out, err = p.communicate(timeout=900)
        assert p.returncode == 0, err
        conflicts += int(out.strip().splitlines()[-1])
    adds, incs = 8 * ((n + 1) // 2), 8 * (n // 2)
    names = []
    for k in range(4):
        rec = s.resolve(f"C{k}")
        names += [f["name"] for f in rec["former_names"]] + [rec["name"]]
    names = [x for x in names if not x.endswith("计数村")]  # the four starting names
    assert len(names) == incs and len(set(names)) == len(names)         # no lost update
    assert set(names) == {f"{w}{i}号村" for w in whos for i in range(1, n, 2)}
    assert s.count() == 4 + adds
    ids = [r[0] for r in s.conn.execute("SELECT name_id FROM names").fetchall()]
    assert len(ids) == len(set(ids))                                     # no duplicate ID
    assert s.conn.execute("SELECT count(*) FROM changes").fetchone()[0] == 4 + adds + incs
    cids = [r[0] for r in s.conn.execute("SELECT change_id FROM changes ORDER BY change_id").fetchall()]
    assert cids == list(range(1, len(cids) + 1))
    assert conflicts > 0  # the writers did collide: the refusals above were exercised, and retried
    # The log replayed gives the state: each record's last logged "after" is the stored record.
    last = dict(s.conn.execute("SELECT i.name_id, i.after FROM change_items i JOIN (SELECT name_id, "
                               "max(change_id * 100000 + seq) AS k FROM change_items GROUP BY name_id) m "
                               "ON m.name_id = i.name_id AND m.k = i.change_id * 100000 + i.seq").fetchall())
    rows = s.conn.execute(f"SELECT {', '.join(COLUMNS)} FROM names").fetchall()
    assert len(last) == len(rows)
    for row in rows:
        rec = _decode(row)
        assert json.loads(last[rec["name_id"]]) == json.loads(_dump(rec))
    s.close()


def test_cli_import_on_either_backend(gaz_db, tmp_path):
    db = str(gaz_db)
    r = CliRunner()
    assert r.invoke(gaz, ["init", "--db", db]).exit_code == 0
    src = tmp_path / "villages.csv"
    src.write_text("编号,名称,上级\nV1,南岩村,330624104\nV2,南岩村,330624104\nV3,下垟村,330624104\n"
                   "V4,第3村,330624104\n", encoding="gb18030")
    args = ["import", str(src), "--map", "name_id=编号", "--map", "name=名称", "--map", "parent_code=上级",
            "--category", "1220", "--db", db, "--json"]
    dry = json.loads(r.invoke(gaz, args + ["--dry-run"]).output)
    assert (dry["added"], dry["rejected"]) == (1, 3)
    assert gz.Gazetteer(gaz_db).count() == 0
    done = json.loads(r.invoke(gaz, args).output)
    assert done["added"] == 1 and done["change"] == 1
    out = json.loads(r.invoke(gaz, ["search", "xyc", "--db", db, "--json"]).output)
    assert out[0]["name"] == "下垟村" and out[0]["roman"] == "Xiayang Cun"


KILLED = """
import sys
from geoplan.gazetteer import store as gz
s = gz.Gazetteer(sys.argv[1])
s.add("回山镇", "1120", "330624", name_id="330624104", who="甲")
"""


def test_writer_killed_mid_transaction_leaves_database_as_before(pg_url, tmp_path):
    """A writer SIGKILLed while it holds the write lock: its change vanishes, the lock is freed."""
    import signal
    import time

    s = gz.Gazetteer(pg_url, create=True)
    s.add("澄潭镇", "1120", "330624", name_id="330624004", who="t")
    marker = tmp_path / "paused"
    env = dict(os.environ, PYTHONPATH=str(ROOT), GEOPLAN_GAZ_PAUSE="put:1", GEOPLAN_GAZ_PAUSE_MARKER=str(marker))
    p = subprocess.Popen([sys.executable, "-c", KILLED, pg_url], env=env)
    for _ in range(600):
        if marker.exists() or p.poll() is not None:
            break
        time.sleep(0.1)
    assert marker.exists(), "the writer never reached the pause point"
    p.send_signal(signal.SIGKILL)
    p.wait(30)
    other = gz.Gazetteer(pg_url)
    other.add("大市聚镇", "1120", "330624", name_id="330624105", who="乙")  # the lock was released
    assert sorted(other.frame()["name_id"]) == ["330624004", "330624105"]
    assert other.changes()["change"].tolist() == [2, 1]
    other.close()
    s.close()


def test_copy_sqlite_to_postgresql_and_back_keeps_history(store, gaz_db, pg_url, tmp_path):
    """Whichever backend the source is on, a copy there and back has the same names, changes and IDs."""
    store.merge(["大市聚镇"], into="澄潭镇", date="2019-01-01", who="alice", why="撤镇并镇")
    store.rename("澄潭镇", "澄潭街道", date="2019-06-01", who="bob")
    store.revert(5, who="carol")
    other = pg_url if isinstance(gaz_db, Path) else tmp_path / "copy.sqlite"
    back = tmp_path / "back.sqlite" if isinstance(gaz_db, Path) else None
    copied = gz.copy_gazetteer(gaz_db, other)
    if back is not None:
        copied.close()
        copied = gz.copy_gazetteer(other, back)
    for s in (copied,):
        assert s.backend == ("sqlite" if back is not None or store.backend == "postgresql" else "postgresql")
        assert s.frame(include_retired=True).equals(store.frame(include_retired=True))
        assert s.frame(as_of="2018-12-31").equals(store.frame(as_of="2018-12-31"))
        assert s.history("330624004").equals(store.history("330624004"))
        assert s.changes().equals(store.changes())
        assert s.change(3) == store.change(3)
        # The ID counter came along: the next new place gets the same ID in both.
        assert s.add("新民镇", "1120", "330624", who="t")[0]["name_id"] == \
            store.add("新民镇", "1120", "330624", who="t")[0]["name_id"]
    with pytest.raises(gz.GazetteerError, match="不是空的地名库"):
        gz.copy_gazetteer(gaz_db, other if back is None else back)
    copied.close()
