"""Parse sign-in input into typed values, or field errors in the user's language."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from backend.auth.service import CODE_LENGTH, normalise_code
from backend.i18n import gettext as _
from backend.settings import LANGUAGES


@dataclass
class CodeForm:
    code: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.errors


def parse_code_form(form: Mapping[str, Any]) -> CodeForm:
    raw = str(form.get("code", ""))[:64]
    result = CodeForm(code=raw.strip())
    if not raw.strip():
        result.errors["code"] = _("Enter the code from your sign-in card.")
    elif len(normalise_code(raw)) != CODE_LENGTH:
        result.errors["code"] = _("A sign-in code has 12 letters and digits, like ABCD-EFGH-JKMN.")
    return result


def safe_next(raw: object, default: str) -> str:
    """Only a path on this site: never an absolute URL, a scheme-relative //host, or a backslash trick."""
    value = str(raw or "")
    if not value.startswith("/") or value.startswith("//") or "\\" in value or len(value) > 500:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def parse_language(form: Mapping[str, Any]) -> str | None:
    value = str(form.get("language", ""))
    return value if value in LANGUAGES else None
