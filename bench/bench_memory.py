"""Issue 12's memory benchmark: server RSS growth after 400 refused 2 MiB bodies, beside a bare app.

Each server runs in its own fresh interpreter, so its RSS holds nothing of the client's or of other
benchmarks. The bodies go to the two servers alternately (A B A B ...). Linux only (it reads /proc).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import requests

BODIES = 400
BODY = b"{" + b" " * (2 * 1024 * 1024 - 2) + b"!"  # 2 MiB exactly, not JSON: the fake answers 400
LIMIT_MB = 20.0
ROOT = Path(__file__).resolve().parent.parent

# the child: serve fake-leaf (or a bare WSGI app that reads the body and answers 400) on the same
# threaded server, print the URL and a token, then serve until stdin closes
_CHILD = """
import sys
from fake_leaf import FakeLeaf
from fake_leaf.adapters._server import LeafServer

leaf = FakeLeaf()
if sys.argv[1] == "fake":
    server = leaf.server()
else:
    def bare(environ, start_response):
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("400 Bad Request", [("Content-Type", "application/problem+json")])
        return [b'{"status": 400}']
    server = LeafServer(bare)
with server:
    print(server.url, leaf.token, flush=True)
    sys.stdin.read()
"""


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


class _Child:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.process = subprocess.Popen([sys.executable, "-c", _CHILD, kind], cwd=ROOT, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        url, token = self.process.stdout.readline().split()
        self.url = f"{url}/services/usermanagement/api/users"
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}", "Content-Type": "application/json"})

    def post(self, body: bytes) -> int:
        return self.session.post(self.url, data=body).status_code

    def close(self) -> None:
        self.session.close()
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)


def rss_growth_after_refused_bodies() -> tuple[float, float]:
    """(fake, bare app) RSS growth in MB after each received ``BODIES`` refused 2 MiB bodies."""
    fake, bare = _Child("fake"), _Child("bare")
    try:
        for child in (fake, bare):  # warm up: a thread, a small refused body, a listing
            assert child.post(b"{") == 400
            child.session.get(child.url)
        before = {c.kind: _rss_mb(c.process.pid) for c in (fake, bare)}
        for _ in range(BODIES):
            assert fake.post(BODY) == 400
            assert bare.post(BODY) == 400
        return (_rss_mb(fake.process.pid) - before["fake"], _rss_mb(bare.process.pid) - before["bare"])
    finally:
        fake.close()
        bare.close()


def main(rounds: int) -> bool:
    if not Path("/proc/self/status").exists():
        print("server RSS after refused bodies: skipped (needs Linux's /proc)")
        return True
    fake, bare = rss_growth_after_refused_bodies()
    ok = fake < LIMIT_MB
    print(f"{f'server RSS growth, {BODIES} refused 2 MiB bodies: fake / bare app':<58} {fake:6.1f} MB / "
          f"{bare:.1f} MB (limit {LIMIT_MB:.0f} MB for the fake, {'ok' if ok else 'OVER'})")
    return ok


if __name__ == "__main__":
    sys.exit(0 if main(1) else 1)
