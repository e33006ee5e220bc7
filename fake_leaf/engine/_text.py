"""Whether a string can be stored and given back: text that UTF-8 can carry (no lone surrogate)."""

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
