"""The persistent search index (issue 17): reused while the database is unchanged, rebuilt after any change,
never returned for another state, and answering exactly like the index built in memory."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from geoplan.gazetteer import romanize
from geoplan.gazetteer import search as gs
from geoplan.gazetteer import store as gz

ROOT = Path(__file__).resolve().parents[1]
VILLAGES = ROOT / "geoplan" / "data" / "villages_2023_zhejiang.csv.gz"


def _real_names(n: int, seed: int = 3) -> list[str]:
    df = pd.read_csv(VILLAGES, dtype=str)
    col = next(c for c in ("name", "名称") if c in df.columns)
    return df[col].dropna().sample(n, random_state=seed).tolist()


@pytest.fixture()
def db(tmp_path):
    s = gz.Gazetteer(tmp_path / "g.sqlite", create=True)
    s.add("回山镇", "1120", "330624", name_id="330624104", who="t")
    s.add("儒岙镇", "1120", "330624", name_id="330624110", who="t")
    s.add("沃洲镇", "1120", "330624", name_id="330624100", who="t")
    for i, name in enumerate(["下岙村", "上岙村", "长乐村", "会墅岭村", "大市聚村", "洞头村", "石磁村"]):
        s.add(name, "1220", "330624104" if i % 2 else "330624110", name_id=f"V{i}", who="t")
    s.rename("V0", "下岙新村", who="t")  # a former name to find
    s.close()
    return tmp_path / "g.sqlite"


QUERIES = ["回山", "会山", "如岙", "儒岙镇", "下岙", "下岙村", "xc", "huishan", "ruao", "chang", "hsl", "沃州",
           "回三镇", "长乐", "洞头", "村", "镇", "zz", "dashiju", "石瓷村"]


def test_stored_readings_key_queries_exactly_like_romanize():
    """The query's same-sound key from the copy of pypinyin's tables kept in the index file equals romanize's."""
    readings = gs._Readings.build()
    assert readings is not None
    names = _real_names(3000) + ["会山", "如岙", "长乐", "乐清", "六安", "重庆", "银行", "朝阳", "单县", "洞头",
                                 "石堡", "十里堡", "乐亭县", "回三镇", "ABC村", "一二三"]
    assert [readings.key(n) for n in names] == [romanize.pinyin_key(n) for n in names]


def test_index_is_reused_while_unchanged_and_rebuilt_after_another_process_edits(db, tmp_path):
    cache = tmp_path / "cache"
    s = gz.Gazetteer(db)
    first = gs.SearchIndex.cached(s, cache)
    again = gs.SearchIndex.cached(s, cache)
    assert (first.cache_hit, again.cache_hit) == (False, True) and again.key == first.key
    files = sorted(cache.iterdir())
    assert len(files) == 1
    code = ("import sys; from geoplan.gazetteer import store as gz; "
            "gz.Gazetteer(sys.argv[1]).add('新林村', '1220', '330624104', name_id='V99', who='other')")
    subprocess.run([sys.executable, "-c", code, str(db)], check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    fresh = gs.SearchIndex.cached(s, cache)
    assert fresh.cache_hit is False and fresh.key != first.key
    assert fresh.search("新林村").iloc[0]["name_id"] == "V99"
    assert gs.SearchIndex.cached(s, cache).cache_hit is True
    assert sorted(cache.iterdir()) == files  # replaced in place: one file per database


def test_loaded_index_answers_like_the_one_built_in_memory(db, tmp_path):
    s = gz.Gazetteer(db)
    gs.SearchIndex.cached(s, tmp_path)
    loaded = gs.SearchIndex.cached(s, tmp_path)
    fresh = gs.SearchIndex.from_store(s)
    assert loaded.cache_hit and loaded.readings is not None and fresh.readings is None
    assert loaded.names.tolist() == fresh.names.tolist() and dict(loaded.postings).keys() == dict(fresh.postings).keys()
    for q in QUERIES:
        for kw in ({}, {"include_retired": True}, {"category": "1220"}, {"parent": "330624104"}):
            pd.testing.assert_frame_equal(loaded.search(q, limit=20, **kw), fresh.search(q, limit=20, **kw))
    assert fresh.search("下岙村").iloc[0]["how"] == "former name"


def test_a_restored_backup_edited_differently_is_not_served_the_old_index(db, tmp_path):
    """Same database id and change counter, another history: the last change's digest tells them apart."""
    cache = tmp_path / "cache"
    backup = tmp_path / "backup.sqlite"
    s = gz.Gazetteer(db)
    s.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    s.close()
    shutil.copy(db, backup)
    s = gz.Gazetteer(db)
    s.add("甲村", "1220", "330624104", name_id="A1", who="alice")
    assert gs.SearchIndex.cached(s, cache).search("甲村").iloc[0]["name_id"] == "A1"
    s.close()
    for extra in ("-wal", "-shm"):
        Path(str(db) + extra).unlink(missing_ok=True)
    shutil.copy(backup, db)
    s = gz.Gazetteer(db)
    s.add("乙村", "1220", "330624104", name_id="B1", who="bob")
    index = gs.SearchIndex.cached(s, cache)
    assert index.cache_hit is False
    assert "A1" not in index.ids.tolist() and index.search("乙村").iloc[0]["name_id"] == "B1"


def test_two_copies_of_one_database_keep_their_own_index(db, tmp_path):
    cache = tmp_path / "cache"
    s = gz.Gazetteer(db)
    s.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    copy = tmp_path / "copy.sqlite"
    shutil.copy(db, copy)
    c = gz.Gazetteer(copy)
    c.add("丙村", "1220", "330624104", name_id="C1", who="t")
    s.add("丁村", "1220", "330624104", name_id="D1", who="t")  # same counter in both files now
    a, b = gs.SearchIndex.cached(s, cache), gs.SearchIndex.cached(c, cache)
    assert "D1" in a.ids.tolist() and "C1" not in a.ids.tolist()
    assert "C1" in b.ids.tolist() and "D1" not in b.ids.tolist()
    assert len(list(cache.iterdir())) == 2


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_a_damaged_cache_file_is_rebuilt(db, tmp_path, damage):
    cache = tmp_path / "cache"
    s = gz.Gazetteer(db)
    gs.SearchIndex.cached(s, cache)
    (path,) = cache.iterdir()
    data = path.read_bytes()
    path.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"\x00" * 100, "empty": b""}[damage])
    index = gs.SearchIndex.cached(s, cache)
    assert index.cache_hit is False and index.search("回山").iloc[0]["name_id"] == "330624104"
    assert gs.SearchIndex.cached(s, cache).cache_hit is True


def test_an_unwritable_cache_folder_only_costs_the_rebuild(db, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    s = gz.Gazetteer(db)
    index = gs.SearchIndex.cached(s, blocker / "cache")
    assert index.cache_hit is False and index.search("儒岙").iloc[0]["name_id"] == "330624110"


def test_postgresql_index_is_keyed_by_its_change_log_too(gaz_db, tmp_path):
    s = gz.Gazetteer(gaz_db, create=True)
    s.add("回山镇", "1120", "330624", name_id="330624104", who="t")
    cache = tmp_path / "cache"
    first = gs.SearchIndex.cached(s, cache)
    assert gs.SearchIndex.cached(s, cache).cache_hit is True
    other = gz.Gazetteer(gaz_db)
    other.add("儒岙镇", "1120", "330624", name_id="330624110", who="t")
    fresh = gs.SearchIndex.cached(s, cache)
    assert fresh.cache_hit is False and fresh.key[1] == first.key[1] + 1
    assert fresh.search("如岙").iloc[0]["name_id"] == "330624110"


def test_bulk_take_from_the_buffer_equals_one_by_one():
    names = _real_names(500) + ["", "a", "𠀀村", "x\x00y", ""]
    texts = gs._Texts.of(names)
    lazy = gs._Texts(texts.data, texts.offsets)  # as loaded from a file: no list
    # 503 holds a NUL (the one-by-one path); the others go through the vectorised gather.
    for idx in ([], [0], list(range(500)), [504, 3, 3, 500, 0, 501, 502] * 12, list(range(len(names)))):
        assert lazy.take(idx) == [names[i] for i in idx]
