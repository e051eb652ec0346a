"""``python -m bench`` (``make bench``): run every benchmark and append results to results.jsonl.

Each benchmark prints its own figures, with a baseline measured in the same run where one
applies; this runner adds the git commit and the date and appends one JSON line per benchmark.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path

BENCHMARKS = [
    "bench.clob_books",
    "bench.chain_latency",
    "bench.chain_discovery",
    "bench.mempool_latency",
    "bench.signal_latency",
    "bench.startup",
    "bench.ui_flood",
    "bench.soak",
    "bench.commands",
    "bench.backtest_speed",
    "bench.edge",
    "bench.whale_profile",
    "bench.telegram_flood",
    "bench.whale_truth",
    "bench.advisor_review",
]
RESULTS = Path(__file__).with_name("results.jsonl")
# Modules here that are not benchmarks: the runner, what the floods share (harness) and the
# relay the chain latency benchmark runs in a process of its own (rpc_fanout).
NOT_BENCHMARKS = {"__init__", "__main__", "harness", "rpc_fanout"}


def unlisted() -> list[str]:
    """Benchmark modules in this directory that ``BENCHMARKS`` leaves out.

    A benchmark missing from the list would never run, not even in ``make test``'s smoke pass,
    so it could break unseen; running the whole list refuses to start while one is missing.
    """
    here = Path(__file__).parent
    present = {f"bench.{p.stem}" for p in here.glob("*.py") if p.stem not in NOT_BENCHMARKS}
    return sorted(present - set(BENCHMARKS))


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


def main(names: list[str]) -> int:
    """Run the named benchmarks (default: all).

    ``--smoke`` (``make test``): each in its reduced form, a few seconds, figures printed and
    nothing timed asserted or recorded — so a benchmark that crashes fails the suite.
    """
    smoke = "--smoke" in names
    names = [n for n in names if n != "--smoke"]
    if not names and (missing := unlisted()):
        print(f"not in bench.__main__.BENCHMARKS: {', '.join(missing)}", file=sys.stderr)
        return 1
    failed = 0
    for name in names or BENCHMARKS:
        print(f"== {name}{' (smoke)' if smoke else ''}", flush=True)
        try:
            result = importlib.import_module(name).main(["--smoke"] if smoke else [])
        except Exception:
            traceback.print_exc()
            failed += 1
            continue
        if smoke:
            continue
        line = {
            "bench": name,
            "commit": _commit(),
            "date": datetime.now(UTC).isoformat(),
            "result": result,
        }
        with RESULTS.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(line, default=str) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
