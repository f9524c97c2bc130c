"""The repository stands on its own: nothing reads a folder beside it.

A user gets the repository and nothing else, so no code, test, script or
notebook may name a path outside it (``../shared`` or a parent of the
repository joined with a data folder). CI also runs the test command from a
copy of the checkout with nothing beside it (``.ci/run``).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# ``../shared``, ``parents[N] / "shared"``, ``.parent.parent / "shared"``: a path out of the repository.
OUTSIDE = re.compile(r"\.\./shared|parents?\[\d\]\s*/\s*[\"']shared|\.parent\s*/\s*[\"']shared|REPO\.parent|ROOT\.parent")


def tracked_text_files():
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for name in out.splitlines():
        if name.endswith((".py", ".ipynb", ".sh", ".toml", ".cfg")) or name == ".ci/run":
            yield ROOT / name


def test_no_code_reads_outside_the_repository():
    offenders = []
    for path in tracked_text_files():
        if path == Path(__file__).resolve():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:  # bad-input corpus files in GBK on purpose: data, not code
            assert "tests/corpus/" in path.as_posix(), path
            continue
        for no, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{no}: {line.strip()}")
    assert offenders == []


def test_guard_catches_the_patterns_it_is_for():
    for bad in ['Path(__file__).resolve().parents[2] / "shared" / "data"', "../shared/data/raw",
                "default=REPO.parent / 'shared'"]:
        assert OUTSIDE.search(bad), bad


def test_raw_data_ships_with_sources_and_licence():
    data = ROOT / "data"
    sources = (data / "SOURCES.md").read_text(encoding="utf-8")
    for rel in ["raw/divisions/streets.csv.gz", "raw/divisions_2023/villages.csv.gz",
                "raw/divisions_2023/LICENSE", "raw/boundaries/330600_full.geojson.gz"]:
        assert (data / rel).is_file(), rel
    for folder in ["raw/divisions/", "raw/divisions_2023/", "raw/boundaries/"]:
        assert folder in sources
