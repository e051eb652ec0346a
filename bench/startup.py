"""Start-up: ``polytui --help`` wall time vs a bare ``python -c pass`` in the same run.

Target: ``--help`` under 0.3 s. Run: ``python -m bench.startup``.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

RUNS = 7


def _time(cmd: list[str]) -> float:
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run, print and return the figures."""
    del argv
    binary = str(Path(sys.executable).parent / "polytui")
    bare = _time([sys.executable, "-c", "pass"])
    help_s = _time([binary, "--help"])
    result = {
        "bench": "startup",
        "figures": [
            {
                "figure": "polytui --help",
                "value": round(help_s, 3),
                "unit": "s",
                "baseline": round(bare, 3),
                "ratio": round(help_s / bare, 2),
                "target": "<= 0.3 s",
            }
        ],
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
