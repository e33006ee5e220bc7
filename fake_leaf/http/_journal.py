"""The request journal: what Leaf's paths received, bounded in entries and in bytes."""

from __future__ import annotations

import dataclasses
import threading
from collections import deque
from collections.abc import Iterator
from typing import overload

from fake_leaf.http._faults import FaultKind
from fake_leaf.http._types import JournalEntry

MAX_ENTRIES = 10_000
MAX_BODY_BYTES = 64 * 1024  # per body: Leaf's JSON bodies are far smaller; a page of 100 users fits
MAX_BYTES = 8 * 1024 * 1024  # every kept body and text together: about 8,000 typical requests
MAX_TEXT = 2048  # characters of a path, query or reason kept: a 64 KiB query must not cost 64 KiB an entry


def truncated(body: bytes, limit: int = MAX_BODY_BYTES) -> bytes:
    """``body``, or its first ``limit`` bytes followed by a marker that gives the full size."""
    if len(body) <= limit:
        return body
    return body[:limit] + f"\n[fake-leaf journal: truncated, first {limit} of {len(body)} bytes kept]".encode()


class Journal:
    """Oldest first; past ``max_entries`` or ``max_bytes`` of bodies, the oldest entries go first.

    ``record`` keeps a request's parts as they came (a tuple) and makes its ``JournalEntry`` when the journal is
    first read: most requests of a test are never read back, and an entry costs more to make than its tuple.
    """

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES,
                 max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_body_bytes = max_body_bytes
        # each kept request with its size: an entry, or the parts of one (``_Parts``) not read yet
        self._entries: deque[tuple[JournalEntry | _Parts, int]] = deque()
        self._unread = 0  # how many of them are parts
        self._bytes = 0
        self._lock = threading.Lock()  # the server answers on many threads; the count must match the entries

    def append(self, entry: JournalEntry) -> None:
        request_body = truncated(entry.request_body, self.max_body_bytes)
        response_body = truncated(entry.response_body, self.max_body_bytes)
        longest = max(len(entry.method), len(entry.path), len(entry.query), len(entry.reason or ""),
                      len(entry.leaf_user_id or ""))
        if request_body is not entry.request_body or response_body is not entry.response_body or longest > MAX_TEXT:
            entry = dataclasses.replace(
                entry, method=_clipped(entry.method), path=_clipped(entry.path), query=_clipped(entry.query),
                reason=_clipped(entry.reason), leaf_user_id=_clipped(entry.leaf_user_id),
                request_body=request_body, response_body=response_body)
        self._keep(entry, _size(entry), 0)

    def record(self, method: str, path: str, query: str, status: int, reason: str | None, route: str | None,
               leaf_user_id: str | None, request_body: bytes, response_body: bytes,
               fault: FaultKind | None) -> None:
        """``append(JournalEntry(method, path, ...))``, the entry made when it is first read."""
        texts = len(method) + len(path) + len(query) + len(reason or "") + len(leaf_user_id or "")
        limit = self.max_body_bytes
        if len(request_body) > limit or len(response_body) > limit or texts > MAX_TEXT:  # perhaps one to clip
            self.append(JournalEntry(method, path, query, status, reason, route, leaf_user_id, request_body,
                                     response_body, fault))
            return
        self._keep((method, path, query, status, reason, route, leaf_user_id, request_body, response_body, fault),
                   len(request_body) + len(response_body) + texts, 1)

    def _keep(self, item: JournalEntry | _Parts, size: int, unread: int) -> None:
        with self._lock:
            entries = self._entries
            entries.append((item, size))
            self._unread += unread
            self._bytes += size
            while len(entries) > self.max_entries or (self._bytes > self.max_bytes and len(entries) > 1):
                dropped, dropped_size = entries.popleft()
                self._bytes -= dropped_size
                if type(dropped) is tuple:
                    self._unread -= 1

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._unread = 0
            self._bytes = 0

    @property
    def bytes(self) -> int:
        """What ``max_bytes`` bounds: the bytes of every body kept, the characters of every path, query, reason."""
        return self._bytes

    def __iter__(self) -> Iterator[JournalEntry]:
        with self._lock:
            if self._unread:  # made once: the next read gives the same entries
                made = [(JournalEntry(*item) if type(item) is tuple else item, size) for item, size in self._entries]
                self._entries.clear()
                self._entries.extend(made)
                self._unread = 0
            return iter([entry for entry, _ in self._entries])  # type: ignore[misc]  # all entries now

    def __len__(self) -> int:
        return len(self._entries)


# a request's parts, in JournalEntry's field order
_Parts = tuple[str, str, str, int, str | None, str | None, str | None, bytes, bytes, FaultKind | None]


def _size(entry: JournalEntry) -> int:
    texts = len(entry.method) + len(entry.path) + len(entry.query) + len(entry.reason or "") + len(
        entry.leaf_user_id or "")
    return len(entry.request_body) + len(entry.response_body) + texts


@overload
def _clipped(text: str) -> str: ...
@overload
def _clipped(text: None) -> None: ...
def _clipped(text: str | None) -> str | None:
    """``text``, or its first ``MAX_TEXT`` characters followed by a marker that gives the full length."""
    if text is None or len(text) <= MAX_TEXT:
        return text
    limit = MAX_TEXT
    return f"{text[:limit]}[fake-leaf journal: truncated, first {limit} of {len(text)} characters kept]"
