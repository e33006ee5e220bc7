"""Run every benchmark of fake-leaf: ``python bench/run.py [--rounds N]``. Exit 1 if a limit is broken."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import (
    bench_clients,
    bench_core,
    bench_jump,
    bench_lifecycle,
    bench_load,
    bench_memory,
    bench_plugin,
    bench_scaling,
    bench_server,
    bench_webhooks,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15, help="interleaved A/B rounds per benchmark")
    args = parser.parse_args()
    ok = bench_core.main(args.rounds)
    ok = bench_clients.main(args.rounds) and ok
    ok = bench_scaling.main(args.rounds) and ok
    ok = bench_lifecycle.main(args.rounds) and ok
    ok = bench_plugin.main(args.rounds) and ok
    ok = bench_server.main(args.rounds) and ok
    ok = bench_webhooks.main(args.rounds) and ok
    ok = bench_load.main(args.rounds) and ok
    ok = bench_memory.main(args.rounds) and ok
    ok = bench_jump.main(args.rounds) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
