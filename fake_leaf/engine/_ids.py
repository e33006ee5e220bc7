"""Lower-case random UUIDs (version 4), without importing `uuid` (it costs import time)."""

from __future__ import annotations

import os
import random


def new_id(rng: random.Random | None = None) -> str:
    """A fresh id; from ``rng``'s next 16 bytes when given (a seeded fake's ids repeat with its seed)."""
    return _uuid4((os.urandom(16) if rng is None else rng.randbytes(16)).hex())


def id_from(digest: bytes) -> str:
    """The id that 16 bytes of a digest make."""
    return _uuid4(digest[:16].hex())


# the variant's hex digit (RFC 4122: the top two bits 10) for each digit the bytes drew there
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def _uuid4(h: str) -> str:
    # version 4 and the RFC 4122 variant written over the hex digits of 16 bytes (their 13th and 17th)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"
