"""A place-name clerk's session through ``geoplan gaz``, read in Chinese: no English word in what it prints.

The demo and the ``--help`` scans (tests/test_i18n_scan.py) do not reach the
gazetteer's day-to-day messages — "added", "renamed", "already retired", "no such
change" — which are what the committee reads most. Each step below is a command a
clerk runs, successes and refusals alike; its output (stdout and stderr) is
scanned with the same allow-list as the other Chinese-mode scans. The same
session in English mode must not print the Chinese user-interface words either.
"""

from __future__ import annotations

import getpass

import pytest
from click.testing import CliRunner
from test_i18n_scan import ALLOWED, HAN, data_words, english_words

from geoplan import i18n
from geoplan.cli.main import main

#: (arguments, expected exit code) — a clerk's session; {db} is the gazetteer, {tmp} a scratch folder
SESSION = [
    (["gaz", "init", "--db", "{db}"], 0),
    (["gaz", "init", "--db", "{db}"], 0),                                         # already there
    (["gaz", "add", "回山镇", "--category", "1120", "--parent", "330624", "--id", "330624104", "--db", "{db}"], 0),
    (["gaz", "add", "回山镇", "--category", "1120", "--parent", "330624", "--id", "330624104", "--db", "{db}"], 1),
    (["gaz", "add", "下垟村", "--category", "1220", "--parent", "330624104", "--db", "{db}"], 0),
    (["gaz", "add", "东村", "--category", "1220", "--parent", "330624999", "--db", "{db}"], 1),  # no such parent
    (["gaz", "rename", "回山镇", "回山镇", "--db", "{db}"], 1),                       # same name
    (["gaz", "rename", "下垟村", "上垟村", "--date", "2024-01-01", "--db", "{db}"], 0),
    (["gaz", "move", "上垟村", "330624004", "--db", "{db}"], 0),
    (["gaz", "retire", "上垟村", "--date", "2025-01-01", "--db", "{db}"], 0),
    (["gaz", "retire", "上垟村", "--db", "{db}"], 1),                                # already retired
    (["gaz", "rename", "上垟村", "中垟村", "--db", "{db}"], 1),                       # retired: cannot rename
    (["gaz", "revert", "99", "--db", "{db}"], 1),                                   # no such change
    (["gaz", "history", "上垟村", "--db", "{db}"], 0),
    (["gaz", "show", "回山镇", "--db", "{db}"], 0),
    (["gaz", "list", "--db", "{db}"], 0),
    (["gaz", "search", "回山", "--db", "{db}"], 0),
    (["gaz", "validate", "--db", "{db}"], None),
    (["gaz", "heritage", "--help"], 0),
    (["gaz", "export", "{tmp}/地名.csv", "--db", "{db}"], 0),
    (["gaz", "show", "不存在的地方", "--db", "{db}"], 1),
]


def _run(lang, tmp_path):
    db, tmp = tmp_path / "g.sqlite", tmp_path
    runner = CliRunner()
    outputs = []
    for args, code in SESSION:
        args = [a.format(db=db, tmp=tmp) for a in args]
        res = runner.invoke(main, ["--lang", lang, *args], prog_name="geoplan", terminal_width=1000,
                            catch_exceptions=False)
        if code is not None:
            assert res.exit_code == code, (args, res.output)
        outputs.append((" ".join(args[:2]), res.output))
    return outputs


@pytest.fixture
def restore_language():
    yield
    i18n.set_language(None)


def test_gazetteer_session_in_chinese_has_no_english_word(tmp_path, restore_language):
    allowed = ALLOWED | data_words()
    found = {}
    for step, text in _run("zh_CN", tmp_path):
        text = text.replace(str(tmp_path), " ").replace(getpass.getuser(), " ")  # paths and the OS user: data
        words = english_words(text, allowed)
        if words:
            found.setdefault(step, set()).update(words)
    assert found == {}


def test_gazetteer_session_in_english_shows_no_chinese_ui_words(tmp_path, restore_language):
    """English mode: what is Chinese is data (names, generic names, the examples), not the interface."""
    ui = {"错误", "地名库", "未作改动", "已写出", "新增", "更名", "废止", "已存在"}
    for step, text in _run("en", tmp_path):
        runs = set(HAN.findall(text))
        assert not {r for r in runs if any(u in r for u in ui)}, (step, text)
