"""Issue 12's load benchmark: 16 client threads x 1,000 requests against fake-leaf's server, beside a bare app.

Each server runs in its own process (as ``fake-leaf serve`` does). The 16 client threads are
``requests.Session``s, 4 to a process in 4 processes (``bench._load_client``): ``requests`` spends
about 1.3 ms of CPU on a call, so 16 of them under one interpreter lock queue behind each other for
about 20 ms a call whatever the server does, and such a figure measures the client. That one-process
figure is still printed, for comparison, on fewer requests, and not judged.

Rounds alternate fake and bare (A B A B ...); each side's latencies are pooled over its rounds.
Reported per side: p50, p99 and max latency, requests over 1 s, failed requests (a dropped or
refused connection, a timeout, a non-200) and the kernel's listen-queue overflows. Judged twice:
clients that keep their connection, and clients that open a new connection per request (what the
listen backlog is for).

Then issue 24's comparison of servers, in one interleaved run (fake-leaf on waitress as it ships,
the hand-written server it replaced, and cheroot, each in its own process): 16 keep-alive clients
alone, then the same beside an attack of 80 slow senders (a header byte a second each) and 600
silent connections (``bench._attacker``, its own process), with the time a new connection takes to
be answered. Judged on fake-leaf's server under the attack: p99 50 ms, a new connection answered
within 100 ms.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

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


@dataclass(frozen=True)
class Mode:
    title: str
    processes: int  # client processes; THREADS threads in all
    keep_alive: bool
    per_thread: int
    judged: bool


MODES = [
    Mode("keep-alive sessions, 4 client processes", 4, True, REQUESTS_PER_THREAD, True),
    Mode("a new connection per request, 4 client processes", 4, False, REQUESTS_PER_THREAD, True),
    Mode("keep-alive sessions, all 16 threads in 1 process (not judged)", 1, True, REQUESTS_PER_THREAD // 4, False),
]


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


def _start(kind: str) -> tuple[subprocess.Popen[str], str, str]:
    process = subprocess.Popen([sys.executable, "-m", "bench._load_server", kind], cwd=ROOT,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    url, path, token = process.stdout.readline().split()
    return process, url + path, token


def _load(side: Side, url: str, token: str, mode: Mode, per_thread: int, max_seconds: float = 1e9) -> None:
    clients = [subprocess.Popen([sys.executable, "-m", "bench._load_client", url, str(THREADS // mode.processes),
                                 str(per_thread), "keep-alive" if mode.keep_alive else "close", str(max_seconds)],
                                cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
               for _ in range(mode.processes)]
    for client in clients:  # every thread of every process ready before any sends
        assert client.stdin is not None and client.stdout is not None
        client.stdin.write(f"{token}\n")
        client.stdin.flush()
        assert client.stdout.readline().strip() == "ready"
    before = _listen_overflows()
    for client in clients:
        assert client.stdin is not None
        client.stdin.write("go\n")
        client.stdin.flush()
    for client in clients:
        out, _ = client.communicate()
        result = json.loads(out)
        side.latencies += result["latencies"]
        side.failed += result["failed"]
    side.overflows += _listen_overflows() - before


def run(rounds: int, mode: Mode) -> tuple[Side, Side]:
    fake, bare = Side("fake"), Side("bare")
    servers = {"fake": _start("fake"), "bare": _start("bare")}
    try:
        per_round = max(1, mode.per_thread // rounds)
        for _ in range(rounds):
            for side in (fake, bare):
                _, url, token = servers[side.name]
                _load(side, url, token, mode, per_round)
    finally:
        for process, _, _ in servers.values():
            process.kill()
            process.wait()
    return fake, bare


SERVERS = ("fake", "legacy", "cheroot")
SLOW, SILENT = 80, 600
ATTACK_REQUESTS, ATTACK_SECONDS = 150, 20.0  # per client thread and round, under attack
NEW_CONNECTIONS = 20  # fresh connections timed per round
NEW_CONNECTION_LIMIT_MS = 100.0


def _new_connections(url: str, token: str, side: Side) -> None:
    import requests

    for _ in range(NEW_CONNECTIONS):
        t0 = time.perf_counter()
        try:
            ok = requests.get(url, headers={"Authorization": f"Bearer {token}", "Connection": "close"},
                              timeout=15).status_code == 200
        except requests.RequestException:
            ok = False
        side.latencies.append(time.perf_counter() - t0)
        side.failed += not ok


def _attack(url: str) -> subprocess.Popen[str]:
    attacker = subprocess.Popen([sys.executable, "-m", "bench._attacker", url, str(SLOW), str(SILENT)], cwd=ROOT,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert attacker.stdout is not None
    assert attacker.stdout.readline().strip() == "ready"
    time.sleep(1.5)  # the slow senders have begun their heads
    return attacker


def compare_servers(rounds: int) -> bool:
    """fake-leaf's server, the one it replaced and cheroot: alone, then under the slow and silent attack."""
    available = [k for k in SERVERS if k != "cheroot" or _has("cheroot")]
    calm = {k: Side(k) for k in available}
    attacked = {k: Side(k) for k in available}
    fresh = {k: Side(k) for k in available}
    mode = Mode("16 keep-alive clients", 4, True, ATTACK_REQUESTS, True)
    started = time.perf_counter()
    for _ in range(rounds):
        for kind in available:  # A B C A B C ...: each round starts each server afresh
            process, url, token = _start(kind)
            try:
                _load(calm[kind], url, token, mode, ATTACK_REQUESTS)
                attacker = _attack(url)
                try:
                    _load(attacked[kind], url, token, mode, ATTACK_REQUESTS, ATTACK_SECONDS)
                    _new_connections(url, token, fresh[kind])
                finally:
                    assert attacker.stdin is not None
                    attacker.stdin.close()
                    attacker.wait(timeout=30)
            finally:
                process.kill()
                process.wait()
    print(f"servers compared, {rounds} rounds of {' / '.join(available)} ({time.perf_counter() - started:.0f} s):")
    for title, sides in (("16 keep-alive clients, no attack", calm),
                         (f"the same beside {SLOW} slow senders and {SILENT} silent connections", attacked),
                         ("a new connection during that attack, connect to answer", fresh)):
        print(f" {title}")
        for side in sides.values():
            print("  " + side.line().replace(f"{side.name:<6}", f"{side.name:<8}", 1))
    ok = (attacked["fake"].percentile(0.99) <= P99_LIMIT_MS and attacked["fake"].failed == 0
          and fresh["fake"].percentile(0.99) <= NEW_CONNECTION_LIMIT_MS and fresh["fake"].failed == 0)
    print(f"fake-leaf under attack: p99 limit {P99_LIMIT_MS:.0f} ms, a new connection within "
          f"{NEW_CONNECTION_LIMIT_MS:.0f} ms: {'ok' if ok else 'OVER'}")
    return ok


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def main(rounds: int) -> bool:
    rounds = max(2, min(rounds, 10))  # alternate at least once; 16,000 requests a side in total
    ok = True
    for mode in MODES:
        started = time.perf_counter()
        fake, bare = run(rounds, mode)
        over = sum(1 for t in fake.latencies if t > 1.0)
        side_ok = fake.percentile(0.99) <= P99_LIMIT_MS and over == 0 and fake.failed == 0
        if mode.judged:
            ok = ok and side_ok
        verdict = ("ok" if side_ok else "OVER") if mode.judged else "for comparison"
        print(f"load: 16 threads x {mode.per_thread:,} GET credentials, {mode.title}: p99 limit "
              f"{P99_LIMIT_MS:.0f} ms, none over 1 s, none failed: {verdict} "
              f"({statistics.median(fake.latencies) / statistics.median(bare.latencies):.2f}x bare p50; "
              f"{time.perf_counter() - started:.1f} s)")
        print(fake.line())
        print(bare.line())
    return compare_servers(max(2, rounds // 2)) and ok


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    if sys.argv[1:2] == ["--servers"]:  # the comparison of servers alone
        sys.exit(0 if compare_servers(int(sys.argv[2]) if len(sys.argv) > 2 else 2) else 1)
    sys.exit(0 if main(int(sys.argv[1]) if len(sys.argv) > 1 else 4) else 1)
