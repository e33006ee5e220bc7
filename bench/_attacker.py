"""Bad clients for bench_load, in a process of their own: ``python -m bench._attacker URL SLOW SILENT``.

Opens SILENT connections that never send a byte and SLOW connections that each send one byte of a
request head a second, all from one thread; a connection the server closes is opened again, so the
pressure holds. Prints ``ready`` once all are open, and runs until its stdin closes.
"""

from __future__ import annotations

import selectors
import socket
import sys
import threading
import time

HEAD = b"GET /services/usermanagement/api/users HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100_000


def main(url: str, slow: int, silent: int) -> None:
    host, port = url.removeprefix("http://").split("/", 1)[0].rsplit(":", 1)
    address = (host, int(port))
    selector = selectors.DefaultSelector()
    sent: dict[socket.socket, int] = {}

    def open_one(kind: str) -> None:
        while True:
            try:
                sock = socket.create_connection(address, timeout=5)
                break
            except OSError:
                time.sleep(0.05)
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ, kind)
        if kind == "slow":
            sent[sock] = 0

    for _ in range(silent):
        open_one("silent")
    for _ in range(slow):
        open_one("slow")
    print("ready", flush=True)
    done = threading.Event()

    def wait_for_stdin_to_close() -> None:
        sys.stdin.read()
        done.set()

    threading.Thread(target=wait_for_stdin_to_close, daemon=True).start()
    next_byte = time.monotonic() + 1
    while not done.is_set():
        for key, _ in selector.select(0.1):
            sock = key.fileobj  # the server answered or closed it: open another
            assert isinstance(sock, socket.socket)
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                selector.unregister(sock)
                sent.pop(sock, None)
                sock.close()
                open_one(key.data)
        if time.monotonic() >= next_byte:
            next_byte += 1
            for sock, n in list(sent.items()):
                try:
                    sock.send(HEAD[n:n + 1])
                    sent[sock] = n + 1
                except OSError:
                    pass
    for key in list(selector.get_map().values()):
        key.fileobj.close()  # type: ignore[union-attr]


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
