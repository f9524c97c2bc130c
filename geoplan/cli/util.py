"""Shared pieces of geoplan's click command groups."""

from __future__ import annotations

import ast
import importlib
import importlib.util
from contextlib import contextmanager
from pathlib import Path
from functools import lru_cache
from typing import TYPE_CHECKING

import click

from geoplan.errors import GeoplanError
from geoplan.i18n import LANGUAGES, _, set_language, use_for_click

if TYPE_CHECKING:
    import pandas as pd


class PathArg(click.Path):
    """:class:`click.Path` whose word for the kind of path is translated when a message is made.

    click translates "file", "directory" or "path" once, when the option is
    defined; a command module imported under one language then said
    "文件 'x' is a directory" in the other.
    """

    @property
    def name(self) -> str:
        import gettext

        return gettext.gettext(self._kind)

    @name.setter
    def name(self, value: str) -> None:
        # click.Path.__init__ assigns its word after setting file_okay/dir_okay: keep the English key instead.
        self._kind = "file" if self.file_okay and not self.dir_okay else (
            "directory" if self.dir_okay and not self.file_okay else "path")


@contextmanager
def _translated(cmd: click.Command):
    """Show ``cmd``'s help and its options' help in the current language while formatting.

    The texts stay English in the code (the catalog's message ids); they are
    translated when a person reads them, after ``--lang`` has been seen.
    """
    saved = (cmd.help, cmd.short_help, [getattr(p, "help", None) for p in cmd.params])
    cmd.help = _(cmd.help) if cmd.help else cmd.help
    cmd.short_help = _(cmd.short_help) if cmd.short_help else cmd.short_help
    for p in cmd.params:
        if getattr(p, "help", None):
            p.help = _(p.help)
    try:
        yield
    finally:
        cmd.help, cmd.short_help = saved[0], saved[1]
        for p, text in zip(cmd.params, saved[2]):
            if text is not None:
                p.help = text


class _HelpInLanguage:
    """The ``--help`` option's own text in the language finally chosen.

    click creates that option once, while parsing — before ``--lang`` has been
    read — and translates its text then; it asks for the option again when it
    formats the help page, so the text is translated again at that moment.
    """

    def get_help_option(self, ctx):
        opt = super().get_help_option(ctx)
        if opt is not None:
            opt.help = _("Show this message and exit.")
        return opt


class TranslatedCommand(_HelpInLanguage, click.Command):
    """A click command whose help is shown in the user's language (:mod:`geoplan.i18n`)."""

    def format_help(self, ctx, formatter):
        with _translated(self):
            super().format_help(ctx, formatter)


class ErrorGroup(_HelpInLanguage, click.Group):
    """A click group that prints a :class:`GeoplanError` as a message and exits 1 — never a traceback.

    Every geoplan group uses it, so a sub-group invoked on its own (in tests,
    or embedded elsewhere) behaves like ``geoplan`` itself. Its commands and
    sub-groups show their help in the user's language.
    """

    command_class = TranslatedCommand
    group_class = type  # sub-groups made with @group.group() are ErrorGroups too

    def main(self, *args, **kwargs):
        use_for_click()  # click's own texts (Usage, Options, usage errors) in the same language
        return super().main(*args, **kwargs)

    def format_help(self, ctx, formatter):
        with _translated(self):
            super().format_help(ctx, formatter)

    def format_commands(self, ctx, formatter):
        # the one-line summaries in the command list, translated like the rest
        subs = [self.get_command(ctx, name) for name in self.list_commands(ctx)]
        saved = [(c, c.help, c.short_help) for c in subs if c is not None]
        for c, h, s in saved:
            c.help = _(h) if h else h
            c.short_help = _(s) if s else s
        try:
            super().format_commands(ctx, formatter)
        finally:
            for c, h, s in saved:
                c.help, c.short_help = h, s

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except GeoplanError as exc:
            click.echo(_("Error: {message}").format(message=exc), err=True)
            ctx.exit(1)


class LazyGroup(ErrorGroup):
    """An :class:`ErrorGroup` whose sub-commands are imported only when one of them is used.

    ``lazy_subcommands`` maps a command name to ``"module:attribute"``. A command
    is imported when it runs or its own help is shown; the command list of the
    group's ``--help`` reads each one's docstring from its module's source
    instead, so ``geoplan --help`` and ``geoplan gaz search`` do not import the
    map, siting and inspection stacks (folium, geopandas …). The help text stays
    in one place, the docstring. Walk the tree with ``list_commands`` /
    ``get_command`` (as click does), not ``.commands``.
    """

    def __init__(self, *args, lazy_subcommands: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = dict(lazy_subcommands or {})
        self._listing = False

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), *self.lazy_subcommands})

    def get_command(self, ctx, cmd_name):
        target = self.lazy_subcommands.get(cmd_name)
        if target is not None and cmd_name not in self.commands:
            summary = _summary(cmd_name, target) if self._listing else None
            if summary is not None:
                return summary
            module, _sep, attr = target.partition(":")
            cmd = getattr(importlib.import_module(module), attr)
            if not isinstance(cmd, click.Command):
                raise TypeError(f"{target} is not a click command")
            self.add_command(cmd, cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx, formatter):
        self._listing = True  # the list needs only each command's help: no import
        try:
            super().format_commands(ctx, formatter)
        finally:
            self._listing = False


@lru_cache(maxsize=None)
def _summary(name: str, target: str) -> click.Command | None:
    """A stand-in for the command at ``target`` carrying its docstring, read from the source without importing it.

    None (so the command is imported) when the source is not at hand or the
    command is declared with anything besides its docstring that the list shows
    (``help=``, ``short_help=``, ``hidden=``, ``deprecated=``).
    """
    module, _sep, attr = target.partition(":")
    try:
        spec = importlib.util.find_spec(module)
        with open(spec.origin, encoding="utf-8") as f:
            tree = ast.parse(f.read())
    except (ImportError, AttributeError, TypeError, OSError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == attr:
            makers = [d for d in node.decorator_list if isinstance(d, ast.Call)
                      and getattr(d.func, "attr", getattr(d.func, "id", None)) in ("command", "group")]
            shown = {"help", "short_help", "hidden", "deprecated", None}  # None: **kwargs, unknown
            if len(makers) != 1 or any(k.arg in shown for k in makers[0].keywords):
                return None
            doc = ast.get_docstring(node, clean=False)
            return click.Command(name, help=doc) if doc else None
    return None


def _choose_language(ctx, param, value):
    if value:
        set_language(value)
        use_for_click()
    return value


#: ``--lang zh_CN|en``: the language of everything the command prints (default: Chinese,
#: or ``GEOPLAN_LANG``, or an English ``LANG``).
lang_option = click.option(
    "--lang", type=click.Choice(LANGUAGES), is_eager=True, expose_value=False, callback=_choose_language,
    help="Language of messages and outputs: zh_CN (default) or en. Also GEOPLAN_LANG.")


def table(df: pd.DataFrame) -> str:
    """A DataFrame as aligned text, with Chinese characters counted double-width."""
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_columns", 50, "display.max_rows", 500,
                           "display.unicode.east_asian_width", True):
        return df.to_string(index=False)


#: ``--workspace DIR``: the county's layers and population from a folder made by ``geoplan workspace init``.
WORKSPACE_HELP = "County workspace folder (from `geoplan workspace init`): its layers and population."

workspace_option = click.option(
    "--workspace", "workspace_dir", type=PathArg(exists=True, file_okay=False, path_type=Path),
    help=WORKSPACE_HELP)


def load_county_from(county: str | None, gpkg=None, population=None, workspace_dir=None, *, expect=None):
    """The county a command works on: a workspace, a ``--layers`` GeoPackage, or a sample county.

    Parameters
    ----------
    county : str or None
        Sample county code, used when neither ``gpkg`` nor ``workspace_dir`` is given.
    gpkg, population : Path, optional
        ``--layers`` and ``--population``.
    workspace_dir : Path, optional
        ``--workspace``: it holds the layers and the population, so it excludes ``--layers``/``--population``.
    expect : str, optional
        County code the command's other input is for (a plan): a workspace of another county is refused.

    Returns
    -------
    geoplan.layers.sample.County

    Raises
    ------
    click.UsageError
        ``--workspace`` together with ``--layers`` or ``--population``.
    geoplan.errors.GeoplanError
        The folder holds no workspace, or a layer fails its checks.
    """
    if workspace_dir is not None:
        if gpkg is not None or population is not None:
            raise click.UsageError(_("--workspace already holds the layers and population: "
                                     "leave out --layers/--population."))
        from geoplan.layers.workspace import load_workspace, require_manifest

        m = require_manifest(workspace_dir)
        if expect is not None and str(expect) != str(m["county"]):
            raise GeoplanError(_("The workspace {folder} holds {name} ({code}), but the plan is for county {expect}: "
                                 "give the workspace of that county, or a plan of {name}.").format(
                folder=workspace_dir, name=m.get("county_name", ""), code=m["county"], expect=expect))
        return load_workspace(workspace_dir)
    from geoplan.layers.sample import load_county, load_sample

    return load_sample(county) if gpkg is None else load_county(gpkg, population)


def workspace_county(workspace_dir) -> str | None:
    """The county code of a workspace folder (``None`` without ``--workspace``), read from its manifest.

    Raises
    ------
    geoplan.errors.GeoplanError
        The folder holds no workspace.
    """
    if workspace_dir is None:
        return None
    from geoplan.layers.workspace import require_manifest

    return str(require_manifest(workspace_dir)["county"])
