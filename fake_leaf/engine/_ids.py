"""Lower-case random UUIDs (version 4), without importing `uuid` (it costs import time)."""

from __future__ import annotations

import os
import random


def new_id(rng: random.Random | None = None) -> str:
    """A fresh id; from ``rng``'s next 16 bytes when given (a seeded fake's ids repeat with its seed)."""
    raw = bytearray(os.urandom(16) if rng is None else rng.randbytes(16))
    return _uuid4(raw)


def id_from(digest: bytes) -> str:
    """The id that 16 bytes of a digest make."""
    return _uuid4(bytearray(digest[:16]))


def _uuid4(raw: bytearray) -> str:
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
