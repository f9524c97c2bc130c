"""The language of everything a person reads: Simplified Chinese by default, English on request.

Messages are written in the code in English and wrapped in :func:`_` (or
:func:`N_` where the text must be defined before the language is known, such
as click help texts, and translated where it is shown). The translations are
GNU gettext catalogs maintained with Babel: ``scripts/update_catalogs.py``
extracts the messages from the code into
``geoplan/locale/zh_CN/LC_MESSAGES/geoplan.po`` and compiles ``geoplan.mo``
next to it, so an ordinary ``pip install`` carries them.

The language is chosen, in this order, by :func:`set_language`, the
``GEOPLAN_LANG`` environment variable (``zh_CN`` or ``en``), an English
``LC_ALL`` / ``LC_MESSAGES`` / ``LANG`` locale, and otherwise Simplified Chinese.

>>> from geoplan.i18n import _, set_language
>>> set_language("zh_CN"); _("Error: {message}").format(message="…")
'错误：…'
>>> set_language("en"); _("Error: {message}").format(message="…")
'Error: …'
>>> set_language(None)  # back to the environment's choice
"""

from __future__ import annotations

import gettext as _gettext
import os
from pathlib import Path

DOMAIN = "geoplan"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
#: Languages geoplan speaks; the first is the default.
LANGUAGES = ("zh_CN", "en")

_chosen: str | None = None
_catalogs: dict[str, _gettext.NullTranslations] = {}


def normalise_language(value: str | None) -> str | None:
    """``zh``, ``zh_CN.UTF-8``, ``zh-Hans`` → ``zh_CN``; ``en_US`` → ``en``; anything else → None.

    >>> normalise_language("en_GB.UTF-8"), normalise_language("zh-CN"), normalise_language("fr")
    ('en', 'zh_CN', None)
    """
    if not value:
        return None
    v = value.strip().split(".")[0].split("@")[0].replace("-", "_").lower()
    if v.startswith("zh"):
        return "zh_CN"
    if v.startswith("en") or v in ("c", "posix"):
        return "en" if v.startswith("en") else None
    return None


def current_language() -> str:
    """The language in force: ``"zh_CN"`` or ``"en"``.

    Examples
    --------
    >>> set_language("en"); current_language()
    'en'
    >>> set_language("zh-CN"); current_language()
    'zh_CN'
    >>> set_language(None)
    """
    if _chosen:
        return _chosen
    explicit = normalise_language(os.environ.get("GEOPLAN_LANG"))
    if explicit:
        return explicit
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if normalise_language(os.environ.get(var)) == "en":
            return "en"
    return LANGUAGES[0]


def set_language(lang: str | None) -> None:
    """Choose the language for this process (``None``: from the environment again).

    Raises
    ------
    ValueError
        For a language geoplan has no catalog for.

    Examples
    --------
    >>> set_language("fr")
    Traceback (most recent call last):
    ...
    ValueError: unsupported language 'fr': use one of zh_CN, en
    """
    global _chosen
    if lang is None:
        _chosen = None
        return
    norm = normalise_language(lang)
    if norm not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}: use one of {', '.join(LANGUAGES)}")
    _chosen = norm


def catalog(lang: str | None = None) -> _gettext.NullTranslations:
    """The compiled catalog of ``lang`` (default: the current language); English is the source text.

    Examples
    --------
    >>> catalog("zh_CN").gettext("Error: {message}"), catalog("en").gettext("Error: {message}")
    ('错误：{message}', 'Error: {message}')
    """
    lang = lang or current_language()
    if lang not in _catalogs:
        _catalogs[lang] = _gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True)
    return _catalogs[lang]


def _(message: str) -> str:
    """``message`` in the current language."""
    return catalog().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for ``n``, in the current language.

    Examples
    --------
    >>> set_language("en"); ngettext("{n} township", "{n} townships", 2).format(n=2)
    '2 townships'
    >>> set_language(None)
    """
    return catalog().ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for translation without translating it yet (translated where shown).

    Examples
    --------
    >>> HELP = N_("Error: {message}")  # a module constant, still English
    >>> set_language("zh_CN"); HELP, _(HELP)
    ('Error: {message}', '错误：{message}')
    >>> set_language(None)
    """
    return message


def use_for_click() -> None:
    """Make click's own texts (Usage, Options, its error messages) speak the current language.

    click looks its texts up through the standard :mod:`gettext` functions,
    that is in the process-wide text domain and the ``LANGUAGE`` environment
    variable; geoplan's catalog carries click's messages too. Only the
    command line calls this: a library must not change process-wide state.

    Examples
    --------
    >>> import click
    >>> from click.testing import CliRunner
    >>> @click.command()
    ... @click.option("--n", type=int)
    ... def cmd(n):
    ...     pass
    >>> set_language("zh_CN"); use_for_click()
    >>> print(CliRunner().invoke(cmd, ["--n", "x"]).output.strip())
    用法： cmd [OPTIONS]
    输入“cmd --help”查看帮助。
    <BLANKLINE>
    错误：'--n' 的取值无效：'x' 不是有效的integer。
    >>> set_language(None); use_for_click()
    """
    _gettext.bindtextdomain(DOMAIN, str(LOCALE_DIR))
    _gettext.textdomain(DOMAIN)
    os.environ["LANGUAGE"] = current_language()
