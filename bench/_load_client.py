"""Client threads for bench_load, in a process of their own: ``python -m bench._load_client URL THREADS N MODE``.

Reads the bearer token from stdin's first line, opens one ``requests.Session`` per thread, prints
``ready``, waits for ``go`` on stdin (so every process starts at once), then each thread sends N GETs.
Prints one JSON line: every latency in seconds and the number of failed requests (a dropped or
refused connection, a timeout, a non-200). MODE is ``keep-alive`` or ``close`` (a new connection
per request). An optional fifth argument bounds each thread's run in seconds.
"""

from __future__ import annotations

import json
import sys
import threading
import time

import requests


def main(url: str, threads: int, per_thread: int, mode: str, max_seconds: float = 1e9) -> None:
    token = sys.stdin.readline().strip()
    latencies: list[float] = []
    failed = 0
    lock = threading.Lock()
    start = threading.Event()

    def client(session: requests.Session) -> None:
        nonlocal failed
        mine, bad = [], 0
        start.wait()
        until = time.perf_counter() + max_seconds
        for _ in range(per_thread):
            if time.perf_counter() > until:  # a server that stalls: what was measured is enough
                break
            t0 = time.perf_counter()
            try:
                ok = session.get(url, timeout=15).status_code == 200
            except requests.RequestException:
                ok = False
            mine.append(time.perf_counter() - t0)
            bad += not ok
        session.close()
        with lock:
            latencies.extend(mine)
            failed += bad

    sessions = []
    for _ in range(threads):
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        if mode == "close":
            session.headers["Connection"] = "close"
        sessions.append(session)
    workers = [threading.Thread(target=client, args=(s,)) for s in sessions]
    for w in workers:
        w.start()
    print("ready", flush=True)
    sys.stdin.readline()  # "go"
    start.set()
    for w in workers:
        w.join()
    print(json.dumps({"latencies": latencies, "failed": failed}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], *map(float, sys.argv[5:6]))
