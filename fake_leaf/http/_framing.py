"""Where a request's body ends (Content-Length or chunked), judged alike by every transport."""

from __future__ import annotations

import functools
import re

from fake_leaf.http import _problems as problems
from fake_leaf.http._app import MAX_BODY
from fake_leaf.http._types import HttpResponse

_DIGITS = re.compile(r"[0-9]+")  # RFC 9110's 1*DIGIT: no sign, no underscore, no spaces inside


class Framing:
    """How the client said its body is delimited (a plain class: one is made per request with a body)."""

    __slots__ = ("also_length", "chunked", "length", "malformed", "transfer_encoding", "undecodable", "unframed")

    def __init__(self, *, chunked: bool = False, length: int | None = None, malformed: str | None = None,
                 transfer_encoding: str | None = None, unframed: str | None = None, undecodable: str | None = None,
                 also_length: bool = False) -> None:
        self.chunked = chunked
        self.length = length  # the declared Content-Length (None: none declared, or chunked)
        self.malformed = malformed  # a Content-Length that is not a number of bytes, as received
        self.transfer_encoding = transfer_encoding  # as received, when it is refused
        self.unframed = unframed  # why that Transfer-Encoding leaves the body's end unknown
        self.undecodable = undecodable  # a transfer coding fake-leaf does not undo (gzip ...)
        self.also_length = also_length  # chunked, with a Content-Length too: a server closes the connection after

    def refusal(self, path: str) -> HttpResponse | None:
        """The answer to give before reading the body at all, if any: the body's end cannot be known."""
        if self.unframed is not None:
            return problems.bad_transfer_encoding(self.transfer_encoding or "", self.unframed, path)
        if self.undecodable is not None:
            return problems.unsupported_transfer_coding(self.undecodable, path)
        if self.malformed is not None:
            return problems.bad_content_length(self.malformed, path)
        return None

    @property
    def too_large(self) -> bool:
        """A Content-Length over the limit: the body is left unread, and the router answers 413 (and journals it)."""
        return self.length is not None and self.length > MAX_BODY

    def short(self, received: int, path: str) -> HttpResponse | None:
        """The answer when fewer bytes arrived than the Content-Length promised."""
        if self.length is not None and received < self.length:
            return problems.short_body(self.length, received, path)
        return None


def framing(content_length: str | None, transfer_encoding: str | None) -> Framing:
    """Read the two headers as HTTP/1.1 does (RFC 9112 6.1-6.3): chunked, last, wins over a Content-Length."""
    if transfer_encoding is None and content_length is not None and len(content_length) <= _SHORT:
        return _by_length(content_length)  # nearly every body's: read once per length
    return _framing(content_length, transfer_encoding)


_SHORT = 24  # the characters of a Content-Length worth remembering


@functools.lru_cache(maxsize=256)
def _by_length(content_length: str) -> Framing:
    return _framing(content_length, None)


def _framing(content_length: str | None, transfer_encoding: str | None) -> Framing:
    if transfer_encoding is not None:
        codings = [c.strip().lower() for c in transfer_encoding.split(",") if c.strip()]
        if not codings or codings[-1] != "chunked":
            return Framing(transfer_encoding=transfer_encoding, unframed="chunked is not its last coding")
        if codings.count("chunked") > 1:
            return Framing(transfer_encoding=transfer_encoding, unframed="it applies chunked more than once")
        other = next((c for c in codings if c != "chunked"), None)
        if other is not None:
            return Framing(transfer_encoding=transfer_encoding, undecodable=other)
        return Framing(chunked=True, also_length=bool(content_length))
    if content_length is None:
        return Framing()
    value = content_length.strip(" \t")
    if not _DIGITS.fullmatch(value):
        return Framing(malformed=content_length)
    return Framing(length=int(value))
