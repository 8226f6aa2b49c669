"""Is a production secret key one that anybody could guess? (Called by settings.load_settings.)

The length rule (32 characters) is in settings; this catches long keys that are still public or weak:
a value copied from an example in this repository, a placeholder ("change-me", "example"), or a key
built from a handful of distinct characters ("k" * 40). It does not measure entropy: a long key made
of real words still passes, so docs/operations.md says how to generate one.
"""

from __future__ import annotations

# Every value that appears as a secret key in this repository's examples, docs and test set-ups:
# tests/unit/app/test_secret_key.py scans the example files and checks that each is refused.
EXAMPLE_SECRET_KEYS = frozenset(
    {
        "change-me-to-48-random-characters-change-me-change-me",  # infra/carelog.env.example
        "test-secret-key-that-is-long-enough-0123456789",  # tests/conftest.py
        "e2e-secret-key-0123456789-abcdefghijklmn",  # tests/e2e/harness.py
    }
)
PLACEHOLDER_WORDS = ("change-me", "changeme", "change_me", "example", "replace-me", "placeholder")
MIN_DISTINCT_CHARACTERS = 10


def weak_secret_reason(key: str) -> str | None:
    """Why this key must not run a production server, or None. The reason never quotes the key."""
    if key in EXAMPLE_SECRET_KEYS:
        return "is an example value from the repository"
    lowered = key.lower()
    if any(word in lowered for word in PLACEHOLDER_WORDS):
        return "is a placeholder (it contains a word such as change-me or example)"
    if len(set(key)) < MIN_DISTINCT_CHARACTERS:
        return f"is too simple (fewer than {MIN_DISTINCT_CHARACTERS} different characters)"
    return None
