"""Waiting for a socket to have something to read, whatever its descriptor's number.

``select.select`` refuses descriptors numbered 1024 or more, which a test process with many
connections reaches; ``poll`` has no such limit (Windows, which has no ``poll``, has no such limit
in ``select`` either).
"""

from __future__ import annotations

import select
import socket
from collections.abc import Sequence


def readable(socks: Sequence[socket.socket], within: float = 0.0) -> bool:
    """Whether one of ``socks`` has something to read (or has been closed) within ``within`` seconds."""
    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            for sock in socks:
                poller.register(sock, select.POLLIN)
            return bool(poller.poll(max(0, int(within * 1000))))
        return bool(select.select(list(socks), [], [], within)[0])
    except (OSError, ValueError):  # a socket closed meanwhile: nothing more to wait for
        return True
