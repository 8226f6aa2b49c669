"""Translations: zh-Hans first, English second.

The active language lives in a context variable set once per request (from the user's setting, kept
in the `lang` cookie, then Accept-Language, then the default). Templates and Python code both read it.
Catalogs are compiled by `make` (pybabel compile); a missing or stale compiled catalog stops start-up
rather than silently showing English to a Chinese user.
"""

from __future__ import annotations

import gettext as _gettext
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any

from babel.support import LazyProxy, Translations

from backend.settings import LANGUAGES

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
# Language tags as the browser and <html lang> know them.
HTML_LANG = {"zh_Hans": "zh-Hans", "en": "en"}
LANGUAGE_NAMES = {"zh_Hans": "中文", "en": "English"}

_current: ContextVar[str] = ContextVar("carelog_language", default="zh_Hans")


class CatalogError(RuntimeError):
    pass


@cache
def translations(language: str) -> _gettext.NullTranslations:
    if language == "en":
        return _gettext.NullTranslations()
    po = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    mo = po.with_suffix(".mo")
    if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
        raise CatalogError(f"compiled catalog {mo} is missing or older than its .po: run `make messages`")
    with mo.open("rb") as handle:
        return Translations(handle, domain=DOMAIN)


def check_catalogs() -> None:
    for language in LANGUAGES:
        translations(language)


def set_language(language: str) -> None:
    _current.set(language if language in LANGUAGES else "zh_Hans")


def current_language() -> str:
    return _current.get()


def gettext(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return translations(_current.get()).pgettext(context, message)


_ = gettext


def lazy_gettext(message: str) -> Any:
    """For module-level strings: translated when shown, in the language of that request."""
    return LazyProxy(gettext, message, enable_cache=False)


def negotiate(cookie_value: str | None, accept_language: str | None, default: str) -> str:
    if cookie_value in LANGUAGES:
        return cookie_value
    for tag, _q in _parse_accept_language(accept_language or ""):
        primary = tag.split("-")[0]
        if primary == "zh":
            # Traditional-script tags still read better in Simplified than in English for our users.
            return "zh_Hans"
        if primary == "en":
            return "en"
    return default


def _parse_accept_language(header: str) -> list[tuple[str, float]]:
    items: list[tuple[str, float]] = []
    for part in header.split(",")[:20]:
        piece = part.strip()
        if not piece:
            continue
        tag, _, params = piece.partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        items.append((tag.strip().lower(), quality))
    return sorted((i for i in items if i[1] > 0), key=lambda i: -i[1])
