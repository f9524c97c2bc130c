"""One mechanism for every word a user reads: gettext catalogs maintained with Babel."""

from __future__ import annotations

import importlib.util
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo

from geoplan import i18n

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("update_catalogs", ROOT / "scripts" / "update_catalogs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def script():
    return _script()


def test_every_message_has_a_chinese_translation(script):
    """A message in the code, click's texts or a command's help without Chinese text fails here."""
    found = script.code_messages()
    assert len(found) > 100  # the extractor really found the CLI's help and click's messages
    assert script.untranslated(script.load_po(), found) == []


def test_compiled_catalog_is_the_po_file(script):
    """geoplan.mo (what pip installs) is compiled from geoplan.po as it is now."""
    buf = io.BytesIO()
    write_mo(buf, script.load_po())
    assert buf.getvalue() == script.PO.with_suffix(".mo").read_bytes(), "run scripts/update_catalogs.py"


def test_language_choice_from_environment(monkeypatch):
    i18n.set_language(None)
    for var in ("GEOPLAN_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    assert i18n.current_language() == "zh_CN"            # Chinese by default
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert i18n.current_language() == "en"               # an English locale
    monkeypatch.setenv("GEOPLAN_LANG", "zh_CN")
    assert i18n.current_language() == "zh_CN"            # GEOPLAN_LANG wins over LANG
    i18n.set_language("en")
    assert i18n.current_language() == "en"               # --lang wins over both
    i18n.set_language(None)
    with pytest.raises(ValueError):
        i18n.set_language("fr")


def _cli(*args, env_lang=None):
    env = {k: v for k, v in os.environ.items() if k not in ("GEOPLAN_LANG", "LANGUAGE", "LC_ALL", "LANG")}
    if env_lang:
        env["GEOPLAN_LANG"] = env_lang
    return subprocess.run([sys.executable, "-m", "geoplan.cli", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT)


def test_cli_help_and_usage_errors_follow_the_language():
    zh = _cli("--help")
    assert zh.returncode == 0 and "用法" in zh.stdout and "显示本帮助并退出" in zh.stdout
    en = _cli("--lang", "en", "--help")
    text = " ".join(en.stdout.split())  # help is wrapped to the terminal width
    assert "Usage:" in text and "Show this message and exit." in text and "用法" not in text
    bad = _cli("demo", "--no-such-option")
    assert bad.returncode == 2 and "没有选项" in bad.stderr
    bad_en = _cli("demo", "--no-such-option", env_lang="en")
    assert bad_en.returncode == 2 and "No such option" in bad_en.stderr


def test_project_errors_are_prefixed_in_the_language():
    zh = _cli("demo", "--county", "110101", "--out", "/nonexistent-geoplan-test")
    assert zh.returncode == 1 and zh.stderr.startswith("错误：") and "Traceback" not in zh.stderr
    en = _cli("--lang", "en", "demo", "--county", "110101", "--out", "/nonexistent-geoplan-test")
    assert en.returncode == 1 and en.stderr.startswith("Error: ")


def test_every_command_shows_its_help_in_chinese():
    """Each command of the tree (groups, sub-commands, stand-alone commands) translates its help."""
    import click
    from click.testing import CliRunner

    from geoplan.cli.main import main

    def walk(cmd, path):
        yield cmd, path
        if isinstance(cmd, click.Group):  # list_commands/get_command: also the lazily loaded groups
            ctx = click.Context(cmd)
            for name in cmd.list_commands(ctx):
                yield from walk(cmd.get_command(ctx, name), [*path, name])

    i18n.set_language("zh_CN")
    try:
        for cmd, path in walk(main, []):
            out = CliRunner().invoke(main, [*path, "--help"]).output
            first = (cmd.help or "").strip().splitlines()[0]
            assert "用法" in out and i18n._(cmd.help).strip().splitlines()[0] in out, path
            assert first not in out or first == i18n._(cmd.help).strip().splitlines()[0], path
    finally:
        i18n.set_language(None)
