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
    assert res.exit_code == 0 and "错误 0 条" in res.output
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
import os, sys
from geoplan.gazetteer import store as gz
url, who, n, stop = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s = gz.Gazetteer(url)
conflicts = 0
for i in range(n):
    if i == stop:  # the writer to be killed: its next add stops mid-transaction, holding the write lock
        os.environ["GEOPLAN_GAZ_PAUSE"] = "put:1"
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
WHOS = "甲乙丙丁戊己庚辛"
#: The full size of issue 20 (8 writers × 500 edits) runs with GEOPLAN_SLOW=1 only: once 21 minutes on a heavily
#: loaded 2-core machine, 163 s (the killed-writer variant, niced, beside other jobs) on 2026-12-01 — too long
#: for CI's 30-minute budget with the whole suite at ~17 minutes; the quick size (60 edits each,
#: GEOPLAN_PG_STRESS_EDITS to change it) always runs.
FULL = bool(os.environ.get("GEOPLAN_SLOW"))
SIZES = [pytest.param(int(os.environ.get("GEOPLAN_PG_STRESS_EDITS", "60")), id="quick"),
         pytest.param(500, id="8x500", marks=[pytest.mark.slow, pytest.mark.skipif(
             not FULL, reason="full size (8 writers × 500 edits, several minutes): set GEOPLAN_SLOW=1")])]


def _run_writers(url, n, tmp_path, victim=None):
    """Eight writer processes, ``n`` edits each, at once; ``victim`` (an index) is SIGKILLed half-way, in the
    middle of a transaction that holds the write lock. Returns the number of conflicts the others retried and
    the number of edits the victim committed."""
    import signal
    import time

    stop = (n // 4) * 2  # an add: the victim pauses inside it, row written, lock held
    marker = tmp_path / "paused"
    env = dict(os.environ, PYTHONPATH=str(ROOT), GEOPLAN_GAZ_PAUSE_MARKER=str(marker))
    env.pop("GEOPLAN_GAZ_PAUSE", None)
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, url, w, str(n), str(stop if k == victim else n)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k, w in enumerate(WHOS)]
    if victim is not None:
        deadline = time.time() + 600
        while not marker.exists():
            assert procs[victim].poll() is None, procs[victim].stderr.read()
            assert time.time() < deadline, "the writer never reached the pause point"
            time.sleep(0.05)
        procs[victim].send_signal(signal.SIGKILL)
    conflicts = 0
    for k, p in enumerate(procs):
        out, err = p.communicate(timeout=1800)
        if k == victim:
            assert p.returncode == -signal.SIGKILL
            continue
        assert p.returncode == 0, err
        conflicts += int(out.strip().splitlines()[-1])
    return conflicts, (stop if victim is not None else n)


def _check_log_equals_state(s, done: dict[str, int]):
    """No lost update, no duplicate ID, consecutive change numbers, and the log replayed gives the names.

    ``done`` is the number of edits each writer committed (edit ``i`` is an add for even ``i``, a rename of
    one of C0…C3 for odd ``i``)."""
    adds = {f"{w}{i}村" for w, n in done.items() for i in range(0, n, 2)}
    renames = {f"{w}{i}号村" for w, n in done.items() for i in range(1, n, 2)}
    names = []
    for k in range(4):
        rec = s.resolve(f"C{k}")
        names += [f["name"] for f in rec["former_names"]] + [rec["name"]]
    names = [x for x in names if not x.endswith("计数村")]  # the four starting names
    assert len(names) == len(set(names)) and set(names) == renames  # no lost update, none twice
    stored = s.frame()
    assert set(stored["name"]) - {s.resolve(f"C{k}")["name"] for k in range(4)} == adds  # nothing half-written
    assert s.count() == 4 + len(adds)
    ids = [r[0] for r in s.conn.execute("SELECT name_id FROM names").fetchall()]
    assert len(ids) == len(set(ids))                                     # no duplicate ID
    cids = [r[0] for r in s.conn.execute("SELECT change_id FROM changes ORDER BY change_id").fetchall()]
    assert cids == list(range(1, 4 + len(adds) + len(renames) + 1))     # one change per edit, no gap
    # The log replayed gives the state: each record's last logged "after" is the stored record.
    last = dict(s.conn.execute("SELECT i.name_id, i.after FROM change_items i JOIN (SELECT name_id, "
                               "max(change_id * 100000 + seq) AS k FROM change_items GROUP BY name_id) m "
                               "ON m.name_id = i.name_id AND m.k = i.change_id * 100000 + i.seq").fetchall())
    rows = s.conn.execute(f"SELECT {', '.join(COLUMNS)} FROM names").fetchall()
    assert len(last) == len(rows)
    for row in rows:
        rec = _decode(row)
        assert json.loads(last[rec["name_id"]]) == json.loads(_dump(rec))


def _counters(url):
    s = gz.Gazetteer(url, create=True)
    for k, first in enumerate("东南西北"):
        s.add(f"{first}计数村", "1220", "330624104", name_id=f"C{k}", who="t")
    return s


@pytest.mark.parametrize("n", SIZES)
def test_eight_writers_at_once_lose_nothing(pg_url, tmp_path, n):
    s = _counters(pg_url)
    conflicts, _ = _run_writers(pg_url, n, tmp_path)
    _check_log_equals_state(s, dict.fromkeys(WHOS, n))
    assert conflicts > 0  # the writers did collide: the refusals above were exercised, and retried
    s.close()


@pytest.mark.parametrize("n", SIZES)
def test_eight_writers_one_killed_mid_transaction_lose_nothing(pg_url, tmp_path, n):
    """The same, with one writer SIGKILLed while it holds the write lock with a row written: the server rolls
    its open change back, the others carry on, and the log still equals the names."""
    s = _counters(pg_url)
    conflicts, victim_done = _run_writers(pg_url, n, tmp_path, victim=2)
    _check_log_equals_state(s, {w: (victim_done if k == 2 else n) for k, w in enumerate(WHOS)})
    assert not s.conn.execute("SELECT 1 FROM names WHERE name = ?", (f"{WHOS[2]}{victim_done}村",)).fetchone()
    s.close()


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
