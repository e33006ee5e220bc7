"""Text as fake-leaf stores and quotes it: UTF-8 that can be given back, and long input shortened in messages."""

from __future__ import annotations


def why_not_text(s: str) -> str | None:
    """Why ``s`` cannot be UTF-8 text (it holds a lone UTF-16 surrogate), or None when it can."""
    if s.isascii():
        return None
    try:
        s.encode("utf-8")
    except UnicodeEncodeError as e:
        return (f"holds a lone UTF-16 surrogate \\u{ord(s[e.start]):04x} at character {e.start}, which is not text; "
                "send valid Unicode (a surrogate pair escapes one character)")
    return None


def shorten(text: str, limit: int = 40) -> str:
    """``text`` as a message quotes it: whole when short, else its start and end and its length."""
    if len(text) <= limit:
        return text
    return f"{text[:limit // 2]}...{text[-(limit // 4):]} ({len(text)} characters)"


def json_kind(value: object) -> str:
    """What a JSON value is, in JSON's words: null, a boolean, a number, a string, an array, an object."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "a number"  # the body reader's stand-in for a number it could not read
