"""Extract geoplan's (and click's) messages into the Chinese catalog and compile it.

Run after adding or changing a message in the code::

    python scripts/update_catalogs.py          # update geoplan.po, keep every translation, compile geoplan.mo
    python scripts/update_catalogs.py --check  # exit 1 if a message has no Chinese translation

Messages are found by Babel's Python extractor in calls of ``_``, ``N_`` and
``ngettext`` in ``geoplan/``, and in click's own source (its ``--help``
headings and usage errors are part of what a user reads). New messages arrive
untranslated; ``--check`` (and ``tests/test_i18n.py``) fails until each has
its Chinese text in the ``.po`` file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import click
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "geoplan" / "locale" / "zh_CN" / "LC_MESSAGES" / "geoplan.po"
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def extract(folder: Path, prefix: str):
    """``(msgid, location)`` for every marked message below ``folder``."""
    method_map = [("**.py", "python")]
    for filename, lineno, message, _comments, _ctx in extract_from_dir(
            str(folder), method_map, keywords=KEYWORDS, strip_comment_tags=True):
        if filename.startswith(("locale", "tests")):
            continue
        yield message, (f"{prefix}/{filename}", lineno)


def help_messages():
    """``(text, location)`` for the help of every command, group and option of the ``geoplan`` CLI.

    click takes a command's help from its docstring, which no extractor sees as
    a message; the command tree itself is the complete list.
    """
    sys.path.insert(0, str(ROOT))
    from geoplan.cli.main import main

    def walk(cmd, path):
        where = ("cli:" + " ".join(path), 0)
        for text in (cmd.help, cmd.short_help):
            if text:
                yield text, where
        for p in cmd.params:
            if getattr(p, "help", None):
                yield p.help, where
        if isinstance(cmd, click.Group):  # list_commands/get_command: also the lazily loaded groups
            ctx = click.Context(cmd)
            for name in cmd.list_commands(ctx):
                yield from walk(cmd.get_command(ctx, name), [*path, name])

    yield from walk(main, ["geoplan"])


def code_messages() -> dict:
    """Every message geoplan's code and click's source mark for translation, and the CLI's help texts."""
    found: dict = {}
    sources = [extract(ROOT / "geoplan", "geoplan"), extract(Path(click.__file__).parent, "click"), help_messages()]
    for source in sources:
        for message, loc in source:
            key = message if isinstance(message, str) else tuple(message)
            if key == "" or key == ("", ""):
                continue
            found.setdefault(key, []).append(loc)
    return found


def untranslated(catalog: Catalog, keys) -> list:
    """The keys whose Chinese text is missing or marked fuzzy."""
    missing = []
    for key in keys:
        msgid = key[0] if isinstance(key, tuple) else key
        m = catalog.get(msgid)
        if m is None or m.fuzzy or not (all(m.string) if isinstance(m.string, tuple) else m.string):
            missing.append(msgid)
    return missing


def load_po(path: Path = PO) -> Catalog:
    """The Chinese catalog as it is in the repository."""
    with open(path, "rb") as fh:
        return read_po(fh, locale="zh_CN")


def update(check: bool = False) -> int:
    found = code_messages()
    old = load_po() if PO.exists() else Catalog(locale="zh_CN")
    if check:
        missing = untranslated(old, found)
        for m in missing:
            print(f"untranslated: {m!r}")
        return 1 if missing else 0
    new = Catalog(locale="zh_CN", project="geoplan", version="0.1", charset="utf-8",
                  language_team="geoplan", fuzzy=False)
    for key, locs in sorted(found.items(), key=lambda kv: str(kv[0])):
        prev = old.get(key[0] if isinstance(key, tuple) else key)
        string = prev.string if prev is not None else ("", "") if isinstance(key, tuple) else ""
        new.add(key, string, locations=sorted(set(locs)))
    PO.parent.mkdir(parents=True, exist_ok=True)
    with open(PO, "wb") as fh:
        write_po(fh, new, width=100, omit_header=False, sort_output=True)
    with open(PO.with_suffix(".mo"), "wb") as fh:
        write_mo(fh, new)
    missing = untranslated(new, found)
    print(f"{len(found)} messages, {len(missing)} untranslated → {PO.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only report untranslated messages")
    sys.exit(update(ap.parse_args().check))
