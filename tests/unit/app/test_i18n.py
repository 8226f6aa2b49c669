"""Every user-facing string has a Chinese translation, and language negotiation behaves."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from backend.i18n import LOCALE_DIR, negotiate

ROOT = Path(__file__).resolve().parents[3]
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "lazy_gettext": None,
    "_l": None,
}
METHOD_MAP = [("backend/**.py", "python"), ("**.html", "jinja2")]


def _source_messages() -> set[str]:
    found: set[str] = set()
    # Babel's directory walk skips folders whose names start with "_", so the shared macros in
    # web/templates/_components are extracted as a root of their own (`make extract` does the same).
    for root in (ROOT, ROOT / "web" / "templates" / "_components"):
        for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(root),
            METHOD_MAP,
            {"**.html": {"extensions": "jinja2.ext.i18n"}},
            keywords=KEYWORDS,  # type: ignore[arg-type]
        ):
            found.add(message[0] if isinstance(message, tuple) else message)
    return found


def _catalog() -> dict[str, object]:
    with (LOCALE_DIR / "zh_Hans" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    return {m.id: m for m in catalog if m.id}  # type: ignore[misc]


def test_every_string_in_templates_and_code_is_translated_to_chinese() -> None:
    catalog = _catalog()
    source = _source_messages()
    assert len(source) > 40
    missing = sorted(m for m in source if m not in catalog)
    untranslated = sorted(m for m in source if m in catalog and (not catalog[m].string or catalog[m].fuzzy))  # type: ignore[attr-defined]
    assert missing == [], f"run `make extract` and translate: {missing}"
    assert untranslated == []


def test_translations_keep_their_placeholders() -> None:
    import re

    for msgid, message in _catalog().items():
        wanted = sorted(re.findall(r"%\(\w+\)s", msgid))
        assert sorted(re.findall(r"%\(\w+\)s", message.string)) == wanted, msgid  # type: ignore[attr-defined]


def test_compiled_catalog_matches_its_source() -> None:
    po = LOCALE_DIR / "zh_Hans" / "LC_MESSAGES" / "messages.po"
    with po.with_suffix(".mo").open("rb") as handle:
        compiled = {m.id: m.string for m in read_mo(handle) if m.id}
    assert compiled == {k: v.string for k, v in _catalog().items()}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("cookie", "header", "expected"),
    [
        (None, None, "zh_Hans"),
        (None, "en-US,en;q=0.9", "en"),
        (None, "zh-CN,zh;q=0.9,en;q=0.8", "zh_Hans"),
        (None, "zh-TW", "zh_Hans"),
        (None, "fr-FR,en;q=0.5", "en"),
        (None, "fr-FR", "zh_Hans"),
        (None, "en;q=0.2,zh;q=0.8", "zh_Hans"),
        (None, "en;q=0", "zh_Hans"),
        (None, ";;;,,q=abc", "zh_Hans"),
        ("en", "zh-CN", "en"),
        ("klingon", "en", "en"),
    ],
)
def test_language_follows_the_choice_then_the_browser_then_the_default(
    cookie: str | None, header: str | None, expected: str
) -> None:
    assert negotiate(cookie, header, "zh_Hans") == expected
