"""The bad-input corpus of the gazetteer commands (tests/corpus/gazetteer/cases.json).

Every case runs one ``geoplan gaz`` command on a copy of the corpus files and
checks the stated outcome: the exit status, a Chinese message, no traceback,
every input file byte-for-byte unchanged, nothing written but the outputs the
case names, and the gazetteer unchanged unless the case imports rows.
"""

import hashlib
import json
import os
import re
import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from geoplan.cli.gaz import gaz
from geoplan.gazetteer import store as gz

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "corpus" / "gazetteer"
CASES = json.loads((CORPUS / "cases.json").read_text(encoding="utf-8"))
CJK = re.compile(r"[\u4e00-\u9fff]")


def snapshot(folder: Path) -> dict:
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            out[str(p.relative_to(folder))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def db_state(path: Path):
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return (con.execute("SELECT name_id, name, parent_code FROM names ORDER BY name_id").fetchall(),
                con.execute("SELECT count(*) FROM changes").fetchone()[0])
    finally:
        con.close()


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_corpus_case(case, tmp_path, monkeypatch):
    work = tmp_path / "w"
    shutil.copytree(CORPUS, work / "in")
    (work / "in" / "cases.json").unlink()
    db = work / "g.sqlite"
    s = gz.Gazetteer(db, create=True)
    s.add("回山镇", "1120", "330624", name_id="330624104", who="t")
    s.add("儒岙镇", "1120", "330624", name_id="330624110", who="t")
    s.close()
    for name, text in case.get("existing", {}).items():
        (work / name).write_text(text, encoding="utf-8")
    if case.get("gpkg"):
        shutil.copy(ROOT / "layers" / "330624.gpkg", work / "layers.gpkg")
    if case.get("cut_db"):
        data = db.read_bytes()
        (work / "cut.sqlite").write_bytes(data[: len(data) // 3])
    if case.get("readonly"):
        # A read-only folder, simulated: the tests may run as root, whom chmod does not stop.
        ro = work / case["readonly"]
        ro.mkdir()
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, m, *a, **k: False if Path(p) == ro else real(p, m, *a, **k))
    monkeypatch.setenv("GEOPLAN_CACHE", str(tmp_path / "cache"))  # the search cache is not the user's folder
    before_files = snapshot(work)
    before_db = db_state(db)
    args = [a.replace("{in}", str(work / "in")).replace("{tmp}", str(work)) for a in case["args"]]
    if "--db" not in args:
        args += ["--db", str(db)]
    res = CliRunner().invoke(gaz, args + (["--json"] if case.get("added") is not None else []))
    out = res.output
    assert res.exit_code == case["exit"], (case["id"], out)
    assert "Traceback" not in out and (res.exception is None or isinstance(res.exception, SystemExit)), out
    if case["exit"] != 0:
        assert CJK.search(out.split("Error:", 1)[-1] if "Error:" in out else out), out
    if "expect" in case:
        assert case["expect"] in out, (case["id"], out)
    after_files = snapshot(work)
    written = set(after_files) - set(before_files)
    assert written <= set(case.get("writes", [])) | {"g.sqlite-wal", "g.sqlite-shm"}, written
    changed = [f for f in before_files if f in after_files and after_files[f] != before_files[f]
               and not f.startswith("g.sqlite")]
    assert changed == [], changed
    if case.get("added") is not None:
        summary = json.loads(out[: out.rindex("}") + 1])
        assert summary["added"] == case["added"], summary
        state = db_state(db)
        assert len(state[0]) == len(before_db[0]) + case["added"]
    else:
        assert db_state(db) == before_db
    for rel in case.get("writes", []):
        text = (work / rel).read_text(encoding="utf-8-sig")
        if case.get("report_escaped"):
            assert "'=1+1" in text and "'@SUM" in text
        if case.get("report_has"):
            assert case["report_has"] in text
        assert "row row" not in text
        assert not pd.read_csv(work / rel, encoding="utf-8-sig").empty


def test_corpus_size():
    assert len(CASES) >= 50 and len({c["id"] for c in CASES}) == len(CASES)
