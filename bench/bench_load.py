"""Issue 12's load benchmark: 16 client threads x 1,000 requests against fake-leaf's server, beside a bare app.

Each server runs in its own process (as ``fake-leaf serve`` does), so the clients' threads do not
share its interpreter. Rounds alternate fake and bare (A B A B ...); each side's latencies are pooled
over its rounds. Reported per side: p50, p99 and max latency, requests over 1 s, failed requests
(a dropped or refused connection, a timeout, a non-200) and the kernel's listen-queue overflows.
Run twice: clients that keep their connection (a ``requests.Session``), and clients that open a
new connection per request (what the listen backlog is for).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

THREADS = 16
REQUESTS_PER_THREAD = 1_000
P99_LIMIT_MS = 50.0
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Side:
    name: str
    latencies: list[float] = field(default_factory=list)
    failed: int = 0
    overflows: int = 0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1e3 if ordered else float("nan")

    def line(self) -> str:
        over = sum(1 for t in self.latencies if t > 1.0)
        return (f"  {self.name:<6} p50 {self.percentile(0.50):7.2f} ms  p99 {self.percentile(0.99):7.2f} ms  "
                f"max {max(self.latencies, default=0) * 1e3:8.2f} ms  >1 s: {over}  failed: {self.failed}  "
                f"listen overflows: {self.overflows}")


def _listen_overflows() -> int:
    """The kernel's count of connections dropped because a listen queue was full (Linux; 0 elsewhere)."""
    try:
        lines = Path("/proc/net/netstat").read_text().splitlines()
    except OSError:
        return 0
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            return int(dict(zip(names.split()[1:], values.split()[1:], strict=True)).get("ListenOverflows", 0))
    return 0


def _start(kind: str) -> tuple[subprocess.Popen[str], str, dict[str, str]]:
    process = subprocess.Popen([sys.executable, "-m", "bench._load_server", kind], cwd=ROOT,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    url, path, token = process.stdout.readline().split()
    return process, url + path, {"Authorization": f"Bearer {token}"}


def _load(side: Side, url: str, headers: dict[str, str], per_thread: int, keep_alive: bool) -> None:
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def client() -> None:
        latencies, failed = [], 0
        session = requests.Session()
        session.headers.update(headers)
        if not keep_alive:
            session.headers["Connection"] = "close"
        start.wait()
        for _ in range(per_thread):
            t0 = time.perf_counter()
            try:
                ok = session.get(url, timeout=10).status_code == 200
            except requests.RequestException:
                ok = False
            latencies.append(time.perf_counter() - t0)
            failed += not ok
        session.close()
        with lock:
            side.latencies += latencies
            side.failed += failed

    before = _listen_overflows()
    threads = [threading.Thread(target=client) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    side.overflows += _listen_overflows() - before


def run(rounds: int, keep_alive: bool) -> tuple[Side, Side]:
    fake, bare = Side("fake"), Side("bare")
    servers = {"fake": _start("fake"), "bare": _start("bare")}
    try:
        per_round = max(1, REQUESTS_PER_THREAD // rounds)
        for _ in range(rounds):
            for side in (fake, bare):
                _, url, headers = servers[side.name]
                _load(side, url, headers, per_round, keep_alive)
    finally:
        for process, _, _ in servers.values():
            process.kill()
            process.wait()
    return fake, bare


def main(rounds: int) -> bool:
    rounds = max(2, min(rounds, 10))  # alternate at least once; 16,000 requests a side in total
    ok = True
    for keep_alive in (True, False):
        started = time.perf_counter()
        fake, bare = run(rounds, keep_alive)
        over = sum(1 for t in fake.latencies if t > 1.0)
        side_ok = fake.percentile(0.99) <= P99_LIMIT_MS and over == 0 and fake.failed == 0
        ok = ok and side_ok
        mode = "keep-alive sessions" if keep_alive else "a new connection per request"
        print(f"{'load: 16 threads x 1,000 GET credentials, ' + mode:<58} p99 limit {P99_LIMIT_MS:.0f} ms, "
              f"none over 1 s, none failed: {'ok' if side_ok else 'OVER'} "
              f"({statistics.median(fake.latencies) / statistics.median(bare.latencies):.2f}x bare p50; "
              f"{time.perf_counter() - started:.1f} s)")
        print(fake.line())
        print(bare.line())
    return ok


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(0 if main(int(sys.argv[1]) if len(sys.argv) > 1 else 4) else 1)
