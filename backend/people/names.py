"""Names as people search for them: the characters themselves, or the pinyin initials (赵桂兰 → zgl),
which is how Chinese phone keyboards and most workers type a name in a hurry.

The initials come from pypinyin (a maintained library and dictionary, not a table of ours). A surname
may be read differently from the same character elsewhere (曾 is zēng as a surname, céng otherwise), so
every reading of the first character is kept: "cq zq" for 曾琴, and a search for either finds her.
"""

from __future__ import annotations

import re
import unicodedata

from pypinyin import Style, lazy_pinyin, pinyin

MAX_INITIALS = 100
_LATIN_WORD = re.compile(r"[a-z0-9]+")
_SEARCH = re.compile(r"[^\w]+")


def normalize_name(raw: str, limit: int = 100) -> str:
    """NFC, inner runs of white space as one space, trimmed, at most `limit` characters."""
    return " ".join(unicodedata.normalize("NFC", raw).split())[:limit]


def _initials(parts: list[str]) -> str:
    letters: list[str] = []
    for part in parts:
        part = part.strip().lower()
        if not part:
            continue
        if part.isascii():
            letters.extend(word[0] for word in _LATIN_WORD.findall(part))
        else:
            letters.append(part[0])
    return "".join(letters)


def name_initials(name: str) -> str:
    """Space-separated alternatives of the name's initials, lower case ("zgl"; "cq zq" for 曾琴)."""
    name = normalize_name(name)
    if not name:
        return ""
    if name[0].isascii():
        return _initials(lazy_pinyin(name, style=Style.FIRST_LETTER))[:MAX_INITIALS]
    rest = _initials(lazy_pinyin(name[1:], style=Style.FIRST_LETTER))
    first_readings = pinyin(name[0], style=Style.FIRST_LETTER, heteronym=True)[0]
    variants = dict.fromkeys(_initials([reading]) + rest for reading in first_readings[:3])
    return " ".join(v for v in variants if v)[:MAX_INITIALS]


def search_terms(query: str) -> tuple[str, str]:
    """(the text to find in names, the same as initials to find at the start of an alternative)."""
    text = normalize_name(query, 50)
    return text, _SEARCH.sub("", text.lower())
