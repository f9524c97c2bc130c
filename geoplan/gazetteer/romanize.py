"""Hanyu Pinyin spelling of Chinese place names (地名罗马字母拼写).

Follows the rules for spelling Chinese place names in the Chinese phonetic
alphabet (中国地名汉语拼音字母拼写规则, 1984, and GB/T 16159):

* 专名 (specific part) and 通名 (generic part) are written separately, each
  part capitalised: 新昌县 → ``Xinchang Xian``, 羽林街道 → ``Yulin Jiedao``.
* Natural villages (自然村) and other names without a separable 通名 are
  written as one word: 周口店 → ``Zhoukoudian``.
* Inside a word, a syllable starting with a, o or e after another syllable
  takes the dividing apostrophe: 西安 → ``Xi'an``, 儒岙 → ``Ru'ao``.
* No tone marks; ü keeps its dots (吕梁 → ``Lüliang``).

Polyphonic characters are the hard part: a place name often keeps an old or
local reading (六安 Lu'an, 乐亭 Laoting, 洪洞 Hongtong) that a general-purpose
converter does not know. Readings come, in this order, from a per-record
override, the place-name pronunciation dictionary shipped in
``geoplan/data/place_pinyin.tsv`` (longest match), and pypinyin's phrase
dictionary for everything else.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources


from geoplan.errors import GeoplanError
from geoplan.i18n import _

#: 通名 recognised at the end of a name, longest first, to split 专名 from 通名
#: when a record does not say. Ordered so that 街道 wins over 道, 水库 over 库 …
GENERICS = tuple(sorted((
    "省", "自治区", "市", "自治州", "地区", "盟", "县", "自治县", "旗", "区",
    "街道", "镇", "乡", "民族乡", "苏木", "社区", "村",
    "大道", "大街", "路", "街", "巷", "弄", "里", "胡同", "桥", "隧道", "广场",
    "山", "峰", "岭", "岗", "尖", "岩", "洞", "江", "河", "溪", "港", "湖", "湾", "潭", "塘", "水库",
    "岛", "公园", "寺", "庙", "塔", "亭", "风景区", "开发区", "工业园区",
), key=len, reverse=True))

_HAN = re.compile(r"[\u3400-\u9fff\U00020000-\U0002ffff]")
_SYLLABLE_OK = re.compile(r"[a-zv]+")


class PronunciationError(GeoplanError):
    """A pronunciation override does not fit the name it is given for."""


@lru_cache(maxsize=1)
def place_dictionary() -> dict[str, tuple[str, ...]]:
    """The place-name pronunciation dictionary: word → toneless syllables.

    Returns
    -------
    dict
        ``{"六安": ("lu", "an"), …}``; ``v`` stands for ü.
    """
    ref = resources.files("geoplan") / "data" / "place_pinyin.tsv"
    table: dict[str, tuple[str, ...]] = {}
    for lineno, line in enumerate(ref.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        word, sylls = parts[0].strip(), tuple(parts[1].split())
        # A broken dictionary line would silently mis-spell names for ever:
        # refuse to load instead.
        if len(sylls) != len(word) or not all(_SYLLABLE_OK.fullmatch(s) for s in sylls):
            raise PronunciationError(f"place_pinyin.tsv line {lineno}: {line!r} has not one syllable per character")
        table[word] = sylls
    return table


def parse_override(name: str, override: str) -> tuple[str, ...]:
    """Check and split a pronunciation override (``"lu an shi"``) for ``name``.

    Raises
    ------
    PronunciationError
        If the override has not exactly one syllable per Chinese character.
    """
    sylls = tuple(s.lower().replace("ü", "v") for s in re.split(r"[\s'’-]+", override.strip()) if s)
    n_han = len(_HAN.findall(name))
    if len(sylls) != n_han or not all(_SYLLABLE_OK.fullmatch(s) for s in sylls):
        raise PronunciationError(
            _("Pronunciation override {override!r} for {name} must give one toneless syllable per character "
              "({n} here), separated by spaces, e.g. 'lu an' for 六安.").format(override=override, name=name, n=n_han)
        )
    return sylls


@lru_cache(maxsize=1)
def _place_lengths() -> dict[str, tuple[int, ...]]:
    """Lengths (longest first) of the place-dictionary words starting with each character."""
    return _lengths_by_first(place_dictionary())


def _lengths_by_first(words) -> dict[str, tuple[int, ...]]:
    # Longest-match segmentation otherwise slices and looks up every length
    # at every position; most characters start no word at all, so knowing
    # the few lengths that can match makes a miss one dict look-up.
    # One-character words count too: a character whose everyday default reading is wrong in place
    # names (长 is zhǎng in pypinyin, cháng in place names) is listed on its own.
    lengths: dict[str, set[int]] = {}
    for w in words:
        lengths.setdefault(w[0], set()).add(len(w))
    return {c: tuple(sorted(ls, reverse=True)) for c, ls in lengths.items()}


@lru_cache(maxsize=200_000)
def _syllables_cached(name: str) -> tuple[str, ...]:
    return tuple(_segment(name, _pypinyin_run))


def _segment(name: str, run_reader) -> list[str]:
    """Syllables of ``name``: place-dictionary words (longest match), ``run_reader`` for the runs between them."""
    words = place_dictionary()
    starts = _place_lengths()
    out: list[str] = []
    pending_start = 0
    i = 0

    def flush(end: int) -> None:
        # Hand the whole unmatched run to pypinyin so its phrase dictionary
        # still sees the characters in context.
        if end > pending_start:
            out.extend(run_reader(name[pending_start:end]))

    while i < len(name):
        match = None
        for size in starts.get(name[i], ()):
            if size <= len(name) - i and name[i:i + size] in words:
                match = name[i:i + size]
                break
        if match is None:
            i += 1
            continue
        flush(i)
        out.extend(words[match])
        i += len(match)
        pending_start = i
    flush(len(name))
    return out


@lru_cache(maxsize=1)
def _readings():
    """pypinyin's data, toneless: default reading per character, phrase readings, phrase lengths by first character.

    These are pypinyin's data modules, not its documented API: if a release
    changes their layout, this returns None and :func:`_pypinyin_run` falls
    back to the public ``pypinyin.lazy_pinyin`` (same readings, slower);
    ``tests/test_romanize.py`` fails on such a release so that the fast path
    is looked at again.
    """
    try:
        from pypinyin.phrases_dict import phrases_dict
        from pypinyin.pinyin_dict import pinyin_dict

        chars = {chr(code): _strip_tone(readings.split(",")[0]) for code, readings in pinyin_dict.items()}
        phrases = {w: tuple(_strip_tone(r[0]) for r in rs) for w, rs in phrases_dict.items() if len(rs) == len(w)}
    except (ImportError, AttributeError, TypeError, ValueError, IndexError):
        return None
    if not chars or not phrases or chars.get("中") != "zhong":
        return None
    return chars, phrases, _lengths_by_first(phrases)


_TONE_TABLE = str.maketrans("āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ", "aaaaeeeeiiiioooouuuuvvvvvnnnm")


def _strip_tone(reading: str) -> str:
    return reading.translate(_TONE_TABLE)


def _pypinyin_run(run: str) -> list[str]:
    # Forward maximum matching over pypinyin's own phrase and character
    # tables, the way pypinyin segments, but without its per-call overhead
    # (five times faster on bulk imports; same readings, checked in tests).
    data = _readings()
    if data is None:  # pypinyin's data layout changed: its public API gives the same readings
        from pypinyin import Style, lazy_pinyin

        return [x.lower() for x in lazy_pinyin(run, style=Style.NORMAL, v_to_u=False, errors=lambda t: list(t))]
    chars, phrases, starts = data
    return _max_match(run, chars.get, phrases.get, starts.get)


def _max_match(run: str, char_of, phrase_of, lengths_of) -> list[str]:
    """Forward maximum matching of ``run`` over a phrase table, then one reading per character.

    ``lengths_of(c, ())`` gives the phrase lengths to try at a character,
    longest first; ``phrase_of(word)`` a phrase's syllables or None;
    ``char_of(c, default)`` a character's reading. The search index's
    stored copy of pypinyin's tables (``search._Readings``) goes through
    this same function, so a query is keyed exactly like the names.
    """
    out: list[str] = []
    i, n = 0, len(run)
    while i < n:
        for size in lengths_of(run[i], ()):
            reading = phrase_of(run[i:i + size]) if size <= n - i else None
            if reading is not None:
                out.extend(reading)
                i += size
                break
        else:
            c = run[i]
            out.append(char_of(c, c.lower()))
            i += 1
    return out


def syllables(name: str, override: str | None = None) -> tuple[str, ...]:
    """Toneless pinyin syllables of a name, one per character (``v`` for ü).

    Parameters
    ----------
    name : str
        The Chinese name.
    override : str, optional
        Per-record pronunciation, e.g. ``"lu an shi"``; wins over everything.

    Returns
    -------
    tuple of str
        ``("xin", "chang", "xian")`` for 新昌县. Characters that are not
        Chinese (digits, Latin letters) come back unchanged, one per item.
    """
    if override:
        return parse_override(name, override)
    return _syllables_cached(name)


def pinyin_key(name: str, override: str | None = None) -> str:
    """Toneless pinyin of a whole name as one lowercase string (search and homophone key)."""
    return "".join(syllables(name, override)).lower()


def initials(name: str, override: str | None = None) -> str:
    """First letters of the syllables: ``xcx`` for 新昌县 (what people type to search)."""
    return "".join(s[0] for s in syllables(name, override) if s).lower()


_GENERIC_SETS = [(n, {g for g in GENERICS if len(g) == n}) for n in sorted({len(g) for g in GENERICS}, reverse=True)]


@lru_cache(maxsize=64)
def _generic_sets(generics: tuple) -> list:
    return [(n, {g for g in generics if len(g) == n}) for n in sorted({len(g) for g in generics}, reverse=True)]


def split_name(name: str, generics=None) -> tuple[str, str]:
    """Split a standard name into 专名 and 通名 by its generic suffix.

    Parameters
    ----------
    generics : iterable of str, optional
        通名 to try (longest wins); default :data:`GENERICS`.

    Returns
    -------
    (str, str)
        ``("新昌", "县")``; ``(name, "")`` when no known 通名 ends the name.
    """
    sets = _GENERIC_SETS if generics is None else _generic_sets(tuple(generics))
    for n, options in sets:
        if len(name) > n and name[-n:] in options:
            return name[:-n], name[-n:]
    return name, ""


def _word(sylls) -> str:
    text = ""
    for k, s in enumerate(sylls):
        # Only a syllable with a v can change; skipping the regex for the
        # rest matters when an import spells tens of thousands of names.
        if "v" in s and _SYLLABLE_OK.fullmatch(s):
            s = s.replace("v", "ü")
        if k > 0 and s[:1] in ("a", "o", "e") and text and text[-1].isalpha():
            text += "'"
        text += s
    return text[:1].upper() + text[1:]


def romanize(name: str, specific: str | None = None, generic: str | None = None,
             override: str | None = None, joined: bool = False) -> str:
    """Spell a place name in Hanyu Pinyin by the place-name rules.

    Parameters
    ----------
    name : str
        Standard name, e.g. ``羽林街道``.
    specific, generic : str, optional
        专名 and 通名 if known; otherwise split with :func:`split_name`.
    override : str, optional
        Per-record pronunciation (one toneless syllable per character).
    joined : bool
        Write all syllables as one word (natural villages, names without a
        separable 通名).

    Returns
    -------
    str
        ``Yulin Jiedao``; ``Xi'an Shi``; ``Lu'an Shi``.

    Examples
    --------
    >>> romanize("乐亭县")
    'Laoting Xian'
    """
    sylls = syllables(name, override)
    if specific is None or generic is None:
        specific, generic = split_name(name)
    if joined or not generic or specific + generic != name:
        return spell(sylls)
    return spell(sylls, len(specific))


def spell(sylls, split_at: int | None = None) -> str:
    """Write syllables as a place name: one word, or 专名 and 通名 apart at ``split_at``.

    Syllables align with characters, so ``split_at`` is the length of the 专名.
    """
    if not split_at or split_at >= len(sylls):
        return _word(sylls)
    return _word(sylls[:split_at]) + " " + _word(sylls[split_at:])
