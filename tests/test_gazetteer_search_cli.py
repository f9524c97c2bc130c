"""``geoplan gaz search`` without pandas, and ``gaz import``'s progress bar (issue 17).

A warm search answers from the memory-mapped index; importing pandas alone
would take most of the 0.5 s a call may last. The search command therefore
prints its table with :mod:`geoplan.cli.gaz_table`; these tests hold that
table to the one pandas prints for the other commands (the reference), in
both languages, and check in a fresh process that neither pandas nor
geopandas is loaded by a search.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from geoplan import i18n
from geoplan.cli import gaz as gaz_cli
from geoplan.cli import gaz_table
from geoplan.cli.main import main
from geoplan.gazetteer import labels
from geoplan.gazetteer import store as gz

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ["name_id", "name", "roman", "category", "parent_code", "status", "match", "score"]


@pytest.fixture
def restore_language():
    yield
    i18n.set_language(None)


def _pandas_table(rows, columns):
    """What the other ``gaz`` commands print for a table: through pandas."""
    return gaz_cli._table(labels.for_reading(pd.DataFrame(rows, columns=columns)))


def test_text_table_is_the_pandas_table(restore_language):
    rng = random.Random(17)
    hows = list(labels.VALUES["match"]) + [h + " prefix" for h in labels.VALUES["match"]]
    chars = "回山镇儒岙村社区新昌县东南西北abcXYZ ·（）ａ１é\t"

    def text(k):
        return "".join(rng.choice(chars) for _ in range(rng.randint(0, k)))

    for _trial in range(300):
        rows = [{"name_id": rng.choice([text(12), f"330624104{rng.randint(0, 999):03d}"]), "name": text(8) or "x",
                 "roman": rng.choice([None, text(20), "Huishan Zhen", "x" * rng.randint(80, 120)]),
                 "category": rng.choice(["1120", "1220", None]), "parent_code": rng.choice(["330624", None, ""]),
                 "status": rng.choice(["current", "retired"]), "match": rng.choice(hows),
                 "score": round(rng.choice([100.0, 86.0, rng.uniform(40, 100)]), 1)}
                for _ in range(rng.randint(0, 12))]
        for lang in ("zh_CN", "en"):
            i18n.set_language(lang)
            assert gaz_table.text_table(rows, COLUMNS) == _pandas_table(rows, COLUMNS), rows


@pytest.fixture
def small_db(tmp_path):
    db = tmp_path / "g.sqlite"
    with gz.Gazetteer(db, create=True) as g:
        g.add("回山镇", "1120", "330624", name_id="330624104")
        g.add("儒岙镇", "1120", "330624", name_id="330624102")
        g.add("下垟村", "1220", "330624104", name_id="330624104201")
        g.add("回山村", "1220", "330624104", name_id="330624104202")
        g.rename("下垟村", "上垟村", date="2024-01-01")
        g.add("东山村", "1220", None, name_id="V9")  # no parent: an empty cell among filled ones
    return db


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_search_output_is_the_pandas_table(small_db, tmp_path, lang, restore_language):
    env = {"GEOPLAN_CACHE": str(tmp_path / "cache")}
    for query in ("回山", "会山", "下垟村", "hs", "huishan", "回三镇", "山村", "不存在的名字"):
        args = ["--lang", lang, "gaz", "search", query, "--db", str(small_db), "--retired"]
        text = CliRunner().invoke(main, args, env=env, catch_exceptions=False)
        data = CliRunner().invoke(main, args + ["--json"], env=env, catch_exceptions=False)
        assert text.exit_code == 0 and data.exit_code == 0, text.output
        rows = json.loads(data.stdout)
        i18n.set_language(lang)
        assert text.stdout == _pandas_table(rows, COLUMNS) + "\n", query
        # --json is what pandas' to_json gave: the same records, keys in column order
        reference = json.loads(pd.DataFrame(rows, columns=COLUMNS).to_json(orient="records", force_ascii=False))
        assert data.stdout == json.dumps(reference, ensure_ascii=False, indent=2) + "\n"


_PROBE = """
import sys
from geoplan.cli.main import main
try:
    main(sys.argv[1:], prog_name="geoplan", standalone_mode=False)
finally:
    print("LOADED", "pandas" in sys.modules, "geopandas" in sys.modules, file=sys.stderr)
"""


def _search_process(db, cache, *args):
    env = dict(os.environ, GEOPLAN_CACHE=str(cache), PYTHONPATH=str(ROOT))
    res = subprocess.run([sys.executable, "-c", _PROBE, "gaz", "search", *args, "--db", str(db)], env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return res.stdout, res.stderr.split("LOADED")[-1].split()


def test_warm_search_does_not_import_pandas(small_db, tmp_path):
    cache = tmp_path / "cache"
    cold_out, _ = _search_process(small_db, cache, "回山")  # builds and writes the index
    queries = (["回山"], ["hs"], ["回三镇"], ["会山"], ["回山", "--json"], ["山", "-c", "1220", "--parent", "330624"])
    for args in queries:
        out, loaded = _search_process(small_db, cache, *args)
        assert loaded == ["False", "False"], args  # neither pandas nor geopandas
        assert "回山" in out or args[0] == "山"
    assert _search_process(small_db, cache, "回山")[0] == cold_out


# ---------------------------------------------------------------- gaz import --progress

def _villages_csv(path: Path, n: int = 40) -> Path:
    pd.DataFrame({"code": [f"330624104{200 + k:03d}" for k in range(n)],
                  "name": [a + b + "村" for a in "东南西北上下前后" for b in "山水林田石岙坑湾"][:n],
                  "parent": "330624104"}).to_csv(path, index=False)
    return path


def _import(tmp_path, name, *extra):
    csv = _villages_csv(tmp_path / "村.csv")
    db = tmp_path / f"{name}.sqlite"
    gz.Gazetteer(db, create=True).close()
    return CliRunner().invoke(main, ["gaz", "import", str(csv), "--map", "name_id=code", "--map",
                                     "parent_code=parent", "--category-from-code", "code", "--db", str(db),
                                     "--user", "测试", *extra], catch_exceptions=False)


@pytest.mark.parametrize("as_json", [False, True])
def test_import_progress_bar_goes_to_stderr_only(tmp_path, as_json, restore_language):
    extra = ["--json"] if as_json else []
    plain = _import(tmp_path, "plain", *extra)
    shown = _import(tmp_path, "shown", "--progress", *extra)
    assert plain.exit_code == shown.exit_code == 0, shown.output
    assert shown.stdout == plain.stdout.replace("plain.sqlite", "shown.sqlite")
    i18n.set_language(None)
    for what in (i18n._("checking"), i18n._("writing")):
        assert what in shown.stderr and what not in plain.stderr
    assert "检查" in shown.stderr and "写入" in shown.stderr  # Chinese by default
    assert plain.stderr == ""  # not a terminal, no --progress: no bar


def test_import_progress_bar_in_english(tmp_path, restore_language):
    gz.Gazetteer(tmp_path / "g.sqlite", create=True).close()
    res = CliRunner().invoke(main, ["--lang", "en", "gaz", "import", str(_villages_csv(tmp_path / "v.csv")),
                                    "--map", "name_id=code", "--map", "parent_code=parent", "--category-from-code",
                                    "code", "--db", str(tmp_path / "g.sqlite"), "--progress"],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "checking" in res.stderr and "writing" in res.stderr and "检查" not in res.stderr
