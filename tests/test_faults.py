"""``kill -9`` at random moments of the commands that write a user's data: nothing half-written, nothing lost.

For each command a clean run gives the reference outputs and how long the
command takes; each trial then starts the same command on fresh copies, sends
SIGKILL after a random delay in [0.2, 3] × that time (two trials run at
once, so each is slower than the clean run) (seeded, so a failure can
be replayed), and checks what is on disk:

* ``gaz import``: the gazetteer has either none or all of the file's rows and
  passes SQLite's integrity check; the rejected-row report is absent or whole.
* gazetteer edits (add, rename, move, retire in a loop, each acknowledged on
  stdout after it returns): every acknowledged edit is in the database, at most
  the one in flight is there unacknowledged, the change log counts them.
* ``inspect import`` (over an earlier import): the results GeoPackage is the old
  one or the new one, and every report is absent or readable.
* ``workspace init`` (new, or replacing an existing workspace): a workspace folder
  either has no files or a manifest whose layers and rasters all read.
* ``province``: every report file present reads; a re-run after the kill
  (every fifth trial) finishes from the county cache.

The quick run does 10 trials per command; the full run (``slow``, in CI) 40 more.
Kill tests of single moments (a paused import) are in ``test_gazetteer.py``.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "corpus"
TIERS = [pytest.param(0, 10, id="quick"), pytest.param(10, 40, id="full", marks=pytest.mark.slow)]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "GEOPLAN_LANG": "zh_CN"}
CLI = [sys.executable, "-m", "geoplan.cli"]


def run_killed(cmd, cwd: Path, delay: float | None, env=None) -> tuple[bool, int, str]:
    """Run ``cmd`` and SIGKILL it after ``delay`` seconds (None: let it finish). Returns (killed, rc, stdout)."""
    out = cwd / ".stdout"
    with open(out, "wb") as fh:
        p = subprocess.Popen(cmd, cwd=cwd, env=env or ENV, stdout=fh, stderr=subprocess.STDOUT)
        try:
            p.wait(timeout=delay if delay is not None else 600)
            killed = False
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
            killed = True
    text = out.read_text(encoding="utf-8", errors="replace")
    out.unlink()
    return killed, p.returncode, text


def timed(cmd, cwd: Path, env=None) -> tuple[float, str]:
    t = time.perf_counter()
    killed, rc, text = run_killed(cmd, cwd, None, env)
    assert rc == 0, text
    return time.perf_counter() - t, text


def visible_files(folder: Path) -> list[Path]:
    """Files a user sees (temporary files and folders of an interrupted write are hidden, named with a dot)."""
    return sorted(p for p in folder.rglob("*") if p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def leftovers(folder: Path) -> int:
    return sum(1 for p in folder.rglob(".*") if ".cache" not in p.parts and p.name != ".stdout")


def trials(name: str, start: int, n: int, duration: float):
    """(trial number, delay) for the trials ``start`` .. ``start + n`` of a command, the same on every run."""
    rng = random.Random(f"{name}-kill")
    # two trials run at once, each slower than the clean run alone (and the work comes after Python's start-up):
    # from a fifth to three times the clean run's time, so some are killed late and some finish
    delays = [rng.uniform(0.2 * duration, 3.0 * duration) for _ in range(start + n)]
    return list(enumerate(delays))[start:]


def run_trials(name, start, n, duration, one):
    """Run ``one(k, delay) -> (killed, [failures], what was on disk)`` per trial, two at a time (CI has two cores)."""
    from collections import Counter
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        done = list(pool.map(lambda kd: one(*kd), trials(name, start, n, duration)))
    print(f"\n{name}: found after the kill: {dict(Counter(d[2] for d in done if d[0]))}")
    _report(name, [d[0] for d in done], [f for d in done for f in d[1]])
    return done


def _report(name, results, failures):
    killed = sum(1 for k in results if k)
    print(f"{name}: {len(results)} trials, {killed} killed mid-run, {len(results) - killed} finished first, "
          f"{len(failures)} failures")
    assert failures == [], failures[:5]


# ---------------------------------------------------------------- gaz import
def _seed_gazetteer(db: Path):
    from geoplan.gazetteer import store as gz

    s = gz.Gazetteer(db, create=True)
    s.add("回山镇", "1120", "330624", name_id="330624104", who="t")
    s.add("儒岙镇", "1120", "330624", name_id="330624110", who="t")
    s.close()


def _gaz_state(db: Path):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return (con.execute("SELECT count(*) FROM names").fetchone()[0],
                con.execute("SELECT count(*) FROM changes").fetchone()[0],
                con.execute("SELECT count(*) FROM change_items").fetchone()[0])
    finally:
        con.close()


CHARS = "东南西北上下前后左右大小新老金银石竹松柏"


@pytest.fixture(scope="module")
def gaz_import_case(tmp_path_factory):
    base = tmp_path_factory.mktemp("gazimp")
    _seed_gazetteer(base / "g.sqlite")
    rows = [f"{a}{b}{c}村,1220,330624104" for a in "甲乙丙" for b in CHARS for c in CHARS]
    rows += ["坏村,1220,330624999", "错村,1220,999999999"]  # rejected: a report is written too
    (base / "村.csv").write_text("name,category,parent_code\n" + "\n".join(rows) + "\n", encoding="utf-8")
    ref = base / "ref"
    ref.mkdir()
    for f in ("g.sqlite", "村.csv"):
        shutil.copy(base / f, ref / f)
    before = _gaz_state(ref / "g.sqlite")
    secs, _out = timed(CLI + ["gaz", "import", "村.csv", "--db", "g.sqlite"], ref)
    report = pd.read_csv(ref / "村_rejected.csv", encoding="utf-8-sig")
    return base, before, _gaz_state(ref / "g.sqlite"), report, secs


@pytest.mark.parametrize("start,n", TIERS)
def test_kill_gaz_import(gaz_import_case, tmp_path, start, n):
    base, before, after, report, secs = gaz_import_case
    assert after[0] == before[0] + 1200

    def one(k, delay):
        d = tmp_path / f"t{k}"
        d.mkdir()
        for f in ("g.sqlite", "村.csv"):
            shutil.copy(base / f, d / f)
        killed, rc, out = run_killed(CLI + ["gaz", "import", "村.csv", "--db", "g.sqlite"], d, delay)
        failures = []
        state = _gaz_state(d / "g.sqlite")
        if state not in (before, after) or (not killed and state != after):
            failures.append((k, delay, "database half-imported or import lost", state, out[-300:]))
        rep = d / "村_rejected.csv"
        if rep.exists() and not pd.read_csv(rep, encoding="utf-8-sig").equals(report):
            failures.append((k, delay, "rejected-row report half-written"))
        if not killed and not rep.exists():
            failures.append((k, delay, "finished without its report"))
        return killed, failures, "imported" if state == after else "untouched" if state == before else "broken"

    run_trials("gaz import", start, n, secs, one)


# ---------------------------------------------------------------- gazetteer edits
EDITOR = """
import sys
from geoplan.gazetteer import store as gz
chars = "东南西北上下前后左右大小新老金银石竹松柏"
s = gz.Gazetteer(sys.argv[1])
for i in range(int(sys.argv[2])):
    c = chars[i // 20] + chars[i % 20]
    rec, _ = s.add(f"甲{c}村", "1220", "330624104", who="k")
    print("ack", i, "add", rec["name_id"], flush=True)
    s.rename(rec["name_id"], f"乙{c}村", who="k")
    print("ack", i, "rename", rec["name_id"], flush=True)
    s.move(rec["name_id"], "330624110", who="k")
    print("ack", i, "move", rec["name_id"], flush=True)
    s.retire(rec["name_id"], who="k")
    print("ack", i, "retire", rec["name_id"], flush=True)
"""
#: (name, parent, status) of edit i's place after each step
STEPS = ["add", "rename", "move", "retire"]


def _expected(i, step):
    c = CHARS[i // 20] + CHARS[i % 20]
    k = STEPS.index(step)
    return (f"甲{c}村" if k == 0 else f"乙{c}村", "330624104" if k < 2 else "330624110",
            "retired" if k == 3 else "current")


@pytest.fixture(scope="module")
def edit_case(tmp_path_factory):
    base = tmp_path_factory.mktemp("gazedit")
    _seed_gazetteer(base / "g.sqlite")
    ref = base / "ref"
    ref.mkdir()
    shutil.copy(base / "g.sqlite", ref / "g.sqlite")
    secs, out = timed([sys.executable, "-c", EDITOR, "g.sqlite", "15"], ref)
    assert out.count("ack") == 60
    return base, _gaz_state(base / "g.sqlite"), secs


@pytest.mark.parametrize("start,n", TIERS)
def test_kill_gazetteer_edits(edit_case, tmp_path, start, n):
    from geoplan.gazetteer import store as gz

    base, before, secs = edit_case
    acked = []

    def one(k, delay):
        d = tmp_path / f"t{k}"
        d.mkdir()
        shutil.copy(base / "g.sqlite", d / "g.sqlite")
        killed, rc, out = run_killed([sys.executable, "-c", EDITOR, "g.sqlite", "15"], d, delay)
        failures = []
        # A line cut off by the kill is no acknowledgement (that edit is the one allowed in flight below).
        acks = [parts for parts in (line.split() for line in out.splitlines() if line.startswith("ack "))
                if len(parts) == 4]
        acked.append(len(acks))
        names, changes, _items = _gaz_state(d / "g.sqlite")
        # every acknowledged edit is a change; at most the one in flight committed without its acknowledgement
        if not (before[1] + len(acks) <= changes <= before[1] + len(acks) + 1):
            failures.append((k, delay, "change log does not match acknowledged edits", changes, len(acks)))
        s = gz.Gazetteer(d / "g.sqlite")
        try:
            for _ack, i, step, name_id in acks[-8:]:  # the latest places: the last acknowledged state holds
                i = int(i)
                last = max((a for a in acks if int(a[1]) == i), key=lambda a: STEPS.index(a[2]))
                if step != last[2]:
                    continue
                r = s.resolve(name_id)
                got = (r["name"], r["parent_code"], r["status"])
                ok = [_expected(i, step)]
                if STEPS.index(step) < 3:
                    ok.append(_expected(i, STEPS[STEPS.index(step) + 1]))  # the next edit, committed, not acked
                if got not in ok:
                    failures.append((k, delay, "acknowledged edit lost", name_id, step, got))
        finally:
            s.close()
        return killed, failures, f"{len(acks) // 10 * 10}+ edits acknowledged"

    run_trials("gazetteer edits", start, n, secs, one)
    print(f"gazetteer edits: {sum(acked)} acknowledged edits checked")


# ---------------------------------------------------------------- inspect import
@pytest.fixture(scope="module")
def inspect_case(tmp_path_factory):
    from geoplan.inspection import forms
    from geoplan.inspection import planning as inspection
    from geoplan.layers.sample import load_sample

    base = tmp_path_factory.mktemp("inspect")
    plan = inspection.plan_for_county(load_sample("330624"), 1, time_limit=1, as_of="2025-03-01",
                                      due_lines=["3068"])
    plan.save(base / "330624_plan.gpkg")
    t = forms.form_table(plan)
    t.loc[0, ["condition", "inspected"]] = ["完好", "2025-03-03"]
    t.iloc[:1].to_csv(base / "first.csv", index=False, encoding="utf-8-sig")
    t.loc[1, ["condition", "inspected"]] = ["移位", "2025-03-03"]
    t.loc[1, ["measured_lon", "measured_lat"]] = [f"{t.loc[1, 'lon'] + 0.0005:.7f}", f"{t.loc[1, 'lat']:.7f}"]
    t.loc[2, ["condition", "inspected"]] = ["丢失", "2025-03-04"]
    t.to_csv(base / "second.csv", index=False, encoding="utf-8-sig")
    timed(CLI + ["inspect", "import", "330624_plan.gpkg", "first.csv", "--no-replan", "--out", "out"], base)
    ref = base / "ref"
    shutil.copytree(base, ref, ignore=shutil.ignore_patterns("ref"))
    secs, _out = timed(CLI + ["inspect", "import", "330624_plan.gpkg", "second.csv", "--no-replan", "--out", "out",
                              "--overwrite"], ref)
    return base, _results_state(base / "out"), _results_state(ref / "out"), secs


def _results_state(out: Path):
    import pyogrio

    store = out / "330624_results.gpkg"
    history = pyogrio.read_dataframe(store, layer="marker_history", read_geometry=False)
    markers = pyogrio.read_dataframe(store, layer="boundary_markers")
    return (len(markers), tuple(sorted(history["marker_id"].astype(str))),
            tuple(sorted(markers["condition"].astype(str))))


def _readable(p: Path) -> bool:
    """A whole file of its kind (the check a user's program would make first)."""
    try:
        if p.suffix == ".xlsx":
            import openpyxl

            openpyxl.load_workbook(p, read_only=True).close()
        elif p.suffix == ".pdf":
            data = p.read_bytes()
            return data.startswith(b"%PDF") and b"%%EOF" in data[-1024:]
        elif p.suffix == ".gpkg":
            import pyogrio

            for name in pyogrio.list_layers(p)[:, 0]:
                pyogrio.read_info(p, layer=name)
        elif p.suffix == ".csv":
            pd.read_csv(p, encoding="utf-8-sig")
        elif p.suffix == ".html":
            return p.read_text(encoding="utf-8").rstrip().endswith("</html>")
        elif p.suffix == ".json":
            json.loads(p.read_text(encoding="utf-8"))
        elif p.suffix == ".tif":
            import rasterio

            with rasterio.open(p) as r:
                r.read(1)
        return True
    except Exception:  # noqa: BLE001 — any error means the file is not whole
        return False


@pytest.mark.parametrize("start,n", TIERS)
def test_kill_inspect_import(inspect_case, tmp_path, start, n):
    base, old, new, secs = inspect_case
    assert old != new

    def one(k, delay):
        d = tmp_path / f"t{k}"
        shutil.copytree(base, d, ignore=shutil.ignore_patterns("ref"))
        killed, rc, out = run_killed(CLI + ["inspect", "import", "330624_plan.gpkg", "second.csv", "--no-replan",
                                            "--out", "out", "--overwrite"], d, delay)
        failures = []
        try:
            state = _results_state(d / "out")
        except Exception as exc:  # noqa: BLE001
            state = repr(exc)
        if state not in (old, new) or (not killed and state != new):
            failures.append((k, delay, "results store neither old nor new", state, out[-300:]))
        bad = [p.name for p in visible_files(d / "out") if not _readable(p)]
        if bad:
            failures.append((k, delay, "half-written", bad))
        return killed, failures, "new results" if state == new else "old results" if state == old else "broken"

    run_trials("inspect import", start, n, secs, one)


# ---------------------------------------------------------------- workspace init
@pytest.fixture(scope="module")
def workspace_case(tmp_path_factory):
    base = tmp_path_factory.mktemp("ws")
    shutil.copy(CORPUS / "workspace" / "towns.gpkg", base / "towns.gpkg")
    shutil.copy(CORPUS / "workspace" / "census_gbk.csv", base / "census.csv")
    shutil.copy(CORPUS / "validate" / "good.csv", base / "elderly.csv")
    first = CLI + ["workspace", "init", "330624", "--townships", "towns.gpkg", "--population", "census.csv",
                   "--out", "ws_old"]
    timed(first, base)
    ref = base / "ref"
    ref.mkdir()
    for f in ("towns.gpkg", "census.csv", "elderly.csv"):
        shutil.copy(base / f, ref / f)
    secs, _ = timed(_ws_cmd("ws"), ref)
    return base, secs


def _ws_cmd(out):
    return CLI + ["workspace", "init", "330624", "--townships", "towns.gpkg", "--population", "census.csv",
                  "--facilities", "elderly.csv:elderly_care", "--out", out]


def _ws_features(ws: Path) -> int:
    """Rows of the elderly-care layer in the workspace's manifest (0 before the facilities were added)."""
    m = json.loads((ws / "manifest.json").read_text(encoding="utf-8"))
    return m["layers"].get("elderly_care", {}).get("features", 0)


def _workspace_whole(ws: Path) -> str | None:
    """None if ``ws`` is absent, empty of files, or a whole workspace; else what is wrong."""
    import pyogrio

    if not ws.exists() or not visible_files(ws):
        return None
    manifest = ws / "manifest.json"
    if not manifest.exists():
        return f"files without a manifest: {[p.name for p in visible_files(ws)]}"
    m = json.loads(manifest.read_text(encoding="utf-8"))
    gpkg = ws / f"{m['county']}.gpkg"
    have = set(pyogrio.list_layers(gpkg)[:, 0])
    missing = set(m["layers"]) - have
    if missing:
        return f"manifest lists layers the GeoPackage lacks: {missing}"
    for name, meta in m["layers"].items():
        if len(pyogrio.read_dataframe(gpkg, layer=name)) != meta["features"]:
            return f"layer {name} has not the manifest's {meta['features']} features"
    bad = [p.name for p in visible_files(ws) if not _readable(p)]
    return f"half-written: {bad}" if bad else None


@pytest.mark.parametrize("start,n", TIERS)
def test_kill_workspace_init(workspace_case, tmp_path, start, n):
    base, secs = workspace_case

    def one(k, delay):
        d = tmp_path / f"t{k}"
        shutil.copytree(base, d, ignore=shutil.ignore_patterns("ref"))
        target = "ws_old" if k % 2 else "ws_new"  # replacing an existing workspace, or a new one
        killed, rc, out = run_killed(_ws_cmd(target), d, delay)
        failures = []
        wrong = _workspace_whole(d / target)
        if wrong:
            failures.append((k, delay, target, wrong))
        if not killed and not (d / target / "manifest.json").exists():
            failures.append((k, delay, target, "finished without a workspace", out[-300:]))
        return killed, failures, ("whole" if (d / target / "manifest.json").exists() else "absent") + (
            " (replaced)" if target == "ws_old" and killed and _ws_features(d / target) == 6 else "")

    run_trials("workspace init", start, n, secs, one)


# ---------------------------------------------------------------- province
@pytest.fixture(scope="module")
def province_case(tmp_path_factory):
    base = tmp_path_factory.mktemp("prov")
    shutil.copy(CORPUS / "province" / "template.toml", base / "template.toml")
    ref = base / "ref"
    ref.mkdir()
    shutil.copy(base / "template.toml", ref / "template.toml")
    secs, _ = timed(_prov_cmd(), ref)
    return base, sorted(p.name for p in visible_files(ref / "out")), secs


def _prov_cmd(*extra):
    return CLI + ["province", "330624", "--plan-template", "template.toml", "--serial", "--no-travel",
                  "--out", "out", *extra]


@pytest.mark.parametrize("start,n", TIERS)
def test_kill_province(province_case, tmp_path, start, n):
    base, files, secs = province_case

    def one(k, delay):
        d = tmp_path / f"t{k}"
        shutil.copytree(base, d, ignore=shutil.ignore_patterns("ref"))
        killed, rc, out = run_killed(_prov_cmd(), d, delay)
        failures = []
        if (d / "out").exists():
            bad = [p.name for p in visible_files(d / "out") if not _readable(p)]
            if bad:
                failures.append((k, delay, "half-written", bad))
        if not killed and sorted(p.name for p in visible_files(d / "out")) != files:
            failures.append((k, delay, "finished without all its reports", out[-300:]))
        if k % 5 == 0:  # the cache the kill may have cut: a re-run finishes and writes every report
            again, rc2, out2 = run_killed(_prov_cmd("--overwrite"), d, None)
            if rc2 != 0 or sorted(p.name for p in visible_files(d / "out")) != files:
                failures.append((k, delay, "re-run after the kill failed", rc2, out2[-300:]))
        return killed, failures, f"{len(visible_files(d / 'out')) if (d / 'out').exists() else 0} report files"

    run_trials("province", start, n, secs, one)
