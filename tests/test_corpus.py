"""The bad-input corpus: every command that reads a user's file, fed what users really send.

Each folder ``tests/corpus/<command>/`` holds the input files and a ``cases.json``
saying, per case, the command line and the expected outcome::

    {"id": "...", "args": ["validate", "{in}/gbk.csv", ...], "exit": 1,
     "expect": ["words the message must contain", ...], "writes": ["files it may write"]}

The runner runs each case in-process (click's CliRunner) on a copy of the folder
and checks, whatever the case: the exit status; no traceback; a Chinese message
on failure containing the expected words (file, row, column); every input file
byte-for-byte unchanged; nothing written (no file, no folder) but what the case
names. Placeholders in ``args``: ``{in}`` the copy of the folder, ``{tmp}`` the
case's work folder, ``{gpkg}``/``{pop}``/``{plan}`` copies of the sample county's
layers, population raster and plan, ``{iplan}`` a small inspection plan,
``{ro}`` a read-only folder, ``{full}`` a folder on a full disk (both real tmpfs
mounts when allowed, else simulated or skipped, saying why).

The gazetteer folder keeps its own keys (a seeded gazetteer, ``added`` rows,
``report_*`` checks of the rejected-row report).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from geoplan.cli import main
from geoplan.i18n import set_language

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "corpus"
CJK = re.compile(r"[\u4e00-\u9fff]")
#: what a folder's args start with (the gazetteer cases name only the sub-command of ``gaz``)
PREFIX = {"gazetteer": ["gaz"]}
SAMPLE = {"{gpkg}": ROOT / "layers" / "330624.gpkg", "{pop}": ROOT / "layers" / "330624_population.tif",
          "{plan}": ROOT / "plans" / "330624_2022.toml"}


def _load():
    cases = []
    for f in sorted(CORPUS.glob("*/cases.json")):
        for c in json.loads(f.read_text(encoding="utf-8")):
            # a known bug not fixed yet: the case says what is wrong, and must start passing once it is fixed
            marks = [pytest.mark.xfail(strict=True, reason=c["xfail"])] if c.get("xfail") else []
            cases.append(pytest.param(f.parent.name, c, id=f"{f.parent.name}/{c['id']}", marks=marks))
    return cases


CASES = _load()


def snapshot(folder: Path) -> dict:
    """sha256 of every file and a marker for every folder under ``folder`` (relative paths)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        if p.is_dir():
            out[rel + "/"] = "dir"
        elif p.is_file():
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _mount(path: Path, options: str) -> bool:
    """A small tmpfs at ``path`` (needs root); False when it cannot be mounted here."""
    path.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    return res.returncode == 0


def _umount(path: Path):
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.fixture(scope="session")
def inspection_plan(tmp_path_factory):
    """A one-team plan of line 3068 of 新昌县 (nine markers): what ``inspect import`` reads."""
    from geoplan.inspection import planning as inspection
    from geoplan.layers.sample import load_sample

    res = inspection.plan_for_county(load_sample("330624"), 1, time_limit=1, as_of="2025-03-01", due_lines=["3068"])
    return res.save(tmp_path_factory.mktemp("iplan") / "330624_plan.gpkg")


def _gazetteer(work: Path) -> Path:
    from geoplan.gazetteer import store as gz

    db = work / "g.sqlite"
    s = gz.Gazetteer(db, create=True)
    s.add("回山镇", "1120", "330624", name_id="330624104", who="t")
    s.add("儒岙镇", "1120", "330624", name_id="330624110", who="t")
    s.close()
    return db


def _db_state(path: Path):
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return (con.execute("SELECT name_id, name, parent_code FROM names ORDER BY name_id").fetchall(),
                con.execute("SELECT count(*) FROM changes").fetchone()[0])
    finally:
        con.close()


def _prepare(folder, case, work: Path, request, monkeypatch, mounts: list) -> list[str]:
    """Lay out the case's work folder; returns its command line."""
    shutil.copytree(CORPUS / folder, work / "in", ignore=shutil.ignore_patterns("cases.json"))
    args = list(PREFIX.get(folder, [])) + case["args"]
    text = " ".join(args)
    for key, src in SAMPLE.items():
        if key in text:
            shutil.copy(src, work / src.name)
            args = [a.replace(key, str(work / src.name)) for a in args]
    if "{iplan}" in text:
        plan = request.getfixturevalue("inspection_plan")
        shutil.copy(plan, work / plan.name)
        args = [a.replace("{iplan}", str(work / plan.name)) for a in args]
    for name, content in case.get("existing", {}).items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(content, encoding="utf-8")
    if case.get("gpkg"):
        shutil.copy(SAMPLE["{gpkg}"], work / "layers.gpkg")
    if folder == "gazetteer":
        db = _gazetteer(work)
        if case.get("cut_db"):
            data = db.read_bytes()
            (work / "cut.sqlite").write_bytes(data[: len(data) // 3])
        if "--db" not in args:
            args += ["--db", str(db)]
        if case.get("added") is not None:
            args.append("--json")
    if "{ro}" in text or case.get("readonly"):
        ro = work / (case.get("readonly") or "ro")
        if _mount(ro, "ro,size=64k"):
            mounts.append(ro)
        else:  # not root: simulate (chmod does not stop root, and a test may run as root without mount rights)
            real = os.access
            monkeypatch.setattr(os, "access", lambda p, m, *a, **k: False if Path(p) == ro else real(p, m, *a, **k))
    if "{full}" in text:
        full = work / "full"
        if not _mount(full, "size=64k"):
            pytest.skip("a full disk needs a small tmpfs, and this process may not mount one (not root)")
        mounts.append(full)
        fd = os.open(full / "filler", os.O_WRONLY | os.O_CREAT)
        try:  # fill it to the last byte
            while os.write(fd, b"\0" * 512):
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
    return [a.replace("{in}", str(work / "in")).replace("{tmp}", str(work))
            .replace("{ro}", str(work / "ro")).replace("{full}", str(work / "full")) for a in args]


def _run(args, work: Path, subprocess_run: bool):
    """(exit code, everything printed, the exception if one escaped click)."""
    if subprocess_run:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("GEOPLAN_LANG", None)
        p = subprocess.run([sys.executable, "-m", "geoplan.cli", *args], cwd=work, env=env,
                           capture_output=True, text=True, timeout=300)
        return p.returncode, p.stdout + p.stderr, None
    set_language("zh_CN")
    try:
        res = CliRunner().invoke(main, args)
    finally:
        set_language(None)
    exc = None if res.exception is None or isinstance(res.exception, SystemExit) else res.exception
    return res.exit_code, res.output, exc


@pytest.mark.parametrize("folder,case", CASES)
def test_corpus_case(folder, case, tmp_path, request, monkeypatch):
    work = tmp_path / "w"
    work.mkdir()
    monkeypatch.chdir(work)  # a command writing to the current folder by mistake is caught too
    monkeypatch.delenv("GEOPLAN_LANG", raising=False)
    monkeypatch.setenv("GEOPLAN_CACHE", str(tmp_path / "cache"))  # caches are not the user's folder
    mounts = []
    try:
        args = _prepare(folder, case, work, request, monkeypatch, mounts)
        before = snapshot(work)
        db_before = _db_state(work / "g.sqlite") if folder == "gazetteer" else None
        code, out, exc = _run(args, work, case.get("subprocess", False))
        after = snapshot(work)
    finally:
        for m in mounts:
            _umount(m)
    assert "Traceback" not in out and exc is None, (case["id"], out, exc)
    assert code == case["exit"], (case["id"], out)
    if case["exit"] != 0:
        message = out.split("错误：", 1)[-1] if "错误：" in out else out
        assert CJK.search(message), (case["id"], out)
    expect = case.get("expect", [])
    for word in [expect] if isinstance(expect, str) else expect:
        assert word in out, (case["id"], word, out)
    for word in case.get("absent", []):
        assert word not in out, (case["id"], word, out)
    own = {"g.sqlite", "g.sqlite-wal", "g.sqlite-shm"} if folder == "gazetteer" else set()
    written = set(after) - set(before) - own
    allowed = set(case.get("writes", []))
    assert {w for w in written if w.rstrip("/") not in allowed} == set(), (case["id"], written)
    changed = [f for f in before if f not in own and after.get(f) != before[f]]
    assert changed == [], (case["id"], changed)  # every input unchanged, none deleted
    for rel in written:
        if rel.endswith(".xlsx"):  # text from the inputs stays text: never a live formula
            _assert_no_formulas(work / rel)
    if folder == "gazetteer":
        _check_gazetteer(case, work, out, db_before)


def _assert_no_formulas(path: Path):
    import openpyxl

    wb = openpyxl.load_workbook(path)
    formulas = [f"{ws.title}!{c.coordinate}" for ws in wb for row in ws.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == [], (path.name, formulas[:5])


def _check_gazetteer(case, work, out, before):
    """The gazetteer's own outcome: rows added exactly as stated, the rejected-row report readable."""
    state = _db_state(work / "g.sqlite")
    if case.get("added") is not None:
        summary = json.loads(out[: out.rindex("}") + 1])
        assert summary["added"] == case["added"], summary
        assert len(state[0]) == len(before[0]) + case["added"]
    else:
        assert state == before
    for rel in case.get("writes", []):
        text = (work / rel).read_text(encoding="utf-8-sig")
        if case.get("report_escaped"):
            assert "'=1+1" in text and "'@SUM" in text
        if case.get("report_has"):
            assert case["report_has"] in text
        assert "row row" not in text
        assert not pd.read_csv(work / rel, encoding="utf-8-sig").empty


def test_corpus_size():
    """At least 50 gazetteer cases and 60 over the other commands; ids unique within a folder."""
    by = {}
    for p in CASES:
        by.setdefault(p.values[0], []).append(p.values[1]["id"])
    assert all(len(ids) == len(set(ids)) for ids in by.values()), by
    assert len(by.pop("gazetteer", [])) >= 50
    assert sum(map(len, by.values())) >= 60 and len(by) >= 6, {k: len(v) for k, v in by.items()}


# ------------------------------------------------------------------------------------------ English mode

#: cases whose refusal still carries Chinese sentences in English mode (each must start passing once fixed)
EN_KNOWN: dict[str, str] = {}


@pytest.fixture(scope="module")
def chinese_data_en():
    from test_i18n_scan import data_chinese

    return data_chinese()


def _own_chinese(folder: Path) -> set[str]:
    """Chinese runs of the case's input files (names, addresses …): data the message may quote."""
    runs = set()
    for p in folder.rglob("*"):
        runs.update(CJK_RUN.findall(p.name))
        if p.is_file() and p.suffix == ".xlsx":  # zipped: its sheet names and cells
            try:
                import openpyxl

                wb = openpyxl.load_workbook(p, read_only=True)
                runs.update(CJK_RUN.findall(" ".join(ws.title for ws in wb.worksheets)))
                for ws in wb.worksheets:
                    for row in ws.iter_rows(values_only=True):
                        runs.update(CJK_RUN.findall(" ".join(str(v) for v in row if v is not None)))
                wb.close()
            except Exception:  # noqa: BLE001 - a corpus file is often a broken workbook on purpose
                pass
        elif p.is_file() and p.stat().st_size < 2_000_000:
            raw = p.read_bytes()
            for enc in ("utf-8", "gbk", "utf-16"):
                runs.update(CJK_RUN.findall(raw.decode(enc, errors="ignore")))
    return runs


CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
FAILING = [p for p in CASES if p.values[1]["exit"] != 0 and not p.values[1].get("subprocess")
           and not p.values[1].get("xfail")]


@pytest.mark.parametrize("folder,case", FAILING)
def test_corpus_refusal_in_english_has_no_chinese_sentence(folder, case, tmp_path, request, monkeypatch,
                                                           chinese_data_en):
    """The same refusal with --lang en: the same exit code, no traceback, and no Chinese but the data's
    (place names, the file's own text, values of the schema)."""
    from test_i18n_scan import chinese_ui

    cid = f"{folder}/{case['id']}"
    if cid in EN_KNOWN:
        request.applymarker(pytest.mark.xfail(strict=True, reason=EN_KNOWN[cid]))
    work = tmp_path / "w"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("GEOPLAN_CACHE", str(tmp_path / "cache"))
    mounts = []
    try:
        args = _prepare(folder, case, work, request, monkeypatch, mounts)
        own = _own_chinese(work)
        set_language("en")
        try:
            res = CliRunner().invoke(main, args)
        finally:
            set_language(None)
    finally:
        for m in mounts:
            _umount(m)
    exc = None if res.exception is None or isinstance(res.exception, SystemExit) else res.exception
    assert exc is None and "Traceback" not in res.output, (cid, res.output, exc)
    assert res.exit_code == case["exit"], (cid, res.output)
    text = res.output.replace(str(work), " ")
    assert chinese_ui(text, chinese_data_en | own) == set(), (cid, res.output)
