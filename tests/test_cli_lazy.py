"""The command line loads a command group only when it is used (issue 17: `geoplan gaz search` under 0.5 s).

Importing the map stack (folium, geopandas …) took most of a short call's
time; these tests fail if the top-level command or the gazetteer's commands
pull it in again. They check which modules a fresh process has loaded, never
how long it took.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click

from geoplan import i18n
from geoplan.cli.main import _GROUPS, main
from geoplan.cli.util import ErrorGroup, LazyGroup

ROOT = Path(__file__).resolve().parents[1]
GEO_STACK = ("folium", "branca", "geopandas", "shapely", "pyogrio", "pyproj", "matplotlib")

_PROBE = """
import json, sys
from click.testing import CliRunner
from geoplan.cli.main import main
loaded = {"import": sorted(m for m in %(watch)r if m in sys.modules)}
for args in (["--help"], ["--lang", "en", "--help"], ["gaz", "search", "--help"]):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, (args, result.output)
    loaded[" ".join(args)] = sorted(m for m in %(watch)r if m in sys.modules)
print(json.dumps(loaded))
"""


def test_help_and_gaz_search_do_not_import_the_map_stack():
    watch = (*GEO_STACK, "pandas")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", _PROBE % {"watch": watch}], capture_output=True, text=True,
                         env=env, cwd=ROOT, check=True).stdout
    loaded = json.loads(out.splitlines()[-1])
    # `import geoplan.cli.main` and `geoplan --help` need neither pandas nor the geo stack
    assert loaded["import"] == [] and loaded["--help"] == [] and loaded["--lang en --help"] == []
    # the gazetteer group is imported for its own help, but not the map stack
    assert not set(loaded["gaz search --help"]) & set(GEO_STACK), loaded


def _listing(group: click.Group, lang: str) -> str:
    i18n.set_language(lang)
    try:
        ctx = click.Context(group, info_name="geoplan")
        formatter = ctx.make_formatter()
        group.format_commands(ctx, formatter)
        return formatter.getvalue()
    finally:
        i18n.set_language(None)


def test_lazy_command_list_is_the_loaded_commands_list():
    """The list read from the sources, without importing, shows what the imported commands would (both languages)."""
    lazy = LazyGroup("geoplan", lazy_subcommands=_GROUPS)
    loaded = ErrorGroup("geoplan")
    ctx = click.Context(main)
    for name in _GROUPS:
        loaded.add_command(main.get_command(ctx, name), name)
    assert lazy.commands == {}
    for lang in ("zh_CN", "en"):
        text = _listing(lazy, lang)
        assert text == _listing(loaded, lang)
        assert all(f"  {name} " in text for name in _GROUPS)
    assert lazy.commands == {}  # listing imported none of them
    # running one imports it, and it is the real command
    assert lazy.get_command(click.Context(lazy), "gaz") is main.get_command(ctx, "gaz")
    assert set(lazy.commands) == {"gaz"}


def test_lazy_command_listed_with_more_than_its_docstring_is_imported_for_the_list(tmp_path, monkeypatch):
    """A command whose list entry is not just its docstring (here ``short_help=``) is imported, so the list stays right."""
    (tmp_path / "lazy_probe_cmds.py").write_text(
        "import click\n\n\n@click.command(short_help='Short text.')\n@click.option('--x', help='An option.')\n"
        "def probe(x):\n    '''Long text.'''\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    group = LazyGroup("g", lazy_subcommands={"probe": "lazy_probe_cmds:probe"})
    ctx = click.Context(group)
    formatter = ctx.make_formatter()
    group.format_commands(ctx, formatter)
    assert "Short text." in formatter.getvalue() and "Long text." not in formatter.getvalue()
    assert "probe" in group.commands  # it had to be imported
