"""One glossary of the field's terms, used the same way in every Chinese message (issue #14).

``geoplan/locale/glossary.csv`` lists the English terms of the messages
(``term_en``, alternatives separated by ``|``) with the Chinese a bureau uses
(``term_zh``, accepted forms separated by ``|``, the first preferred) and the
variants the catalog must not use for them (``avoid``). Every message whose
English contains a term must say it with the glossary's Chinese. A longer term
is matched before a shorter one inside it ("township-level" before "township").
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "geoplan" / "locale" / "glossary.csv"
PO = ROOT / "geoplan" / "locale" / "zh_CN" / "LC_MESSAGES" / "geoplan.po"

#: (term_en, start of the msgid) → why the Chinese does not use the glossary's term there
EXCEPTIONS = {
    ("township", "Regulations on Place Names (2022) Art. 9(1)(viii)"):
        "quotes the regulation, whose words are 乡、镇",
    ("gazetteer", "Another layer as it is, repeatable; KIND"): "names the place-name map (地名图), not the database",
    ("gazetteer", "Maps: coverage (HTML and A4 static"): "names the place-name map (地名图), not the database",
}

#: what in a msgid is code, not words: placeholders, options, identifiers, example command lines
CODE = re.compile(r"(?m)\{[^}]*\}|(?<![\w-])--?[A-Za-z][\w-]*|\S*_\S*|^\s*geoplan .*$")


def glossary() -> list[dict]:
    with GLOSSARY.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _pattern(term_en: str) -> re.Pattern:
    alts = sorted(term_en.split("|"), key=len, reverse=True)
    return re.compile(r"(?<![A-Za-z])(?:" + "|".join(re.escape(a) for a in alts) + r")(?:e?s)?(?![A-Za-z])", re.I)


def messages() -> list[tuple[str, str]]:
    with PO.open("rb") as f:
        cat = read_po(f)
    out = []
    for m in cat:
        if not m.id:
            continue
        mid = m.id[0] if isinstance(m.id, tuple) else m.id
        text = m.string[0] if isinstance(m.string, tuple) else m.string
        out.append((mid, text or ""))
    return out


def test_glossary_is_well_formed():
    rows = glossary()
    assert 25 <= len(rows) and list(rows[0]) == ["term_en", "term_zh", "avoid", "note"]
    seen = set()
    for r in rows:
        assert r["term_en"] and r["term_zh"], r
        assert re.search(r"[\u4e00-\u9fff]", r["term_zh"]) and not re.search(r"[A-Za-z]", r["term_zh"]), r
        for t in r["term_en"].split("|"):
            assert t.lower() not in seen, f"{t} twice"
            seen.add(t.lower())


def violations() -> list[str]:
    rows = glossary()
    found = []
    for mid, text in messages():
        for r in rows:
            # mask the longer terms that contain this one: "township-level" is not "township"
            masked = CODE.sub(" ", mid)
            for other in rows:
                if other is not r and any(t.lower() in o.lower() and len(o) > len(t)
                                          for t in r["term_en"].split("|") for o in other["term_en"].split("|")):
                    masked = _pattern(other["term_en"]).sub(" ", masked)
            if not _pattern(r["term_en"]).search(masked):
                continue
            if any(k[0] == r["term_en"] and mid.startswith(k[1]) for k in EXCEPTIONS):
                continue
            if not any(zh in text for zh in r["term_zh"].split("|")):
                found.append(f"{r['term_en']} → {r['term_zh']}: {mid[:80]!r} → {text[:80]!r}")
            for bad in filter(None, r["avoid"].split("|")):
                if bad in text:
                    found.append(f"{r['term_en']}: avoid {bad}: {mid[:80]!r} → {text[:80]!r}")
    return found


def test_every_message_uses_the_glossary_terms():
    assert violations() == []


def test_the_exceptions_are_still_needed():
    """An exception that no longer matches a message is stale: remove it."""
    ids = [mid for mid, _text in messages()]
    for term, start in EXCEPTIONS:
        assert any(mid.startswith(start) for mid in ids), (term, start)


@pytest.mark.parametrize("term", ["township", "warning"])
def test_the_check_is_not_blind(term, monkeypatch):
    """A message that says a glossary term another way is found."""
    monkeypatch.setattr(__import__(__name__), "messages",
                        lambda: [(f"one {term}", "一个提醒" if term == "warning" else "一个乡")], raising=False)
    assert violations()
