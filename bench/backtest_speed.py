"""Backtest speed: sim hours of a world through the real engine on the virtual clock.

Target: 24 sim hours of ``mixed`` in ≤ 90 s on 2 cores (CPU seconds: the machine is shared).
Prints wall and CPU seconds and the sim/wall ratio, for the run alone (no profiling of the
world's past first: ``bench.edge`` does that). ``--smoke`` (``make test``): 6 sim minutes.

    python -m bench.backtest_speed [--world NAME] [--hours H] [--seed N] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from polytui.backtest.command import backtest_report
from polytui.backtest.world import builtin_worlds
from polytui.config import LoadedConfig
from polytui.settings import Settings


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.backtest_speed")
    parser.add_argument("--world", default="mixed", choices=builtin_worlds())
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help="make test: 6 sim minutes")
    args = parser.parse_args(argv or [])
    if args.smoke:
        args.hours = 0.1
    wall, cpu = time.monotonic(), time.process_time()
    report = backtest_report(
        LoadedConfig(Settings(), None),
        scenario=args.world,
        scenario_file=None,
        seed=args.seed,
        hours=args.hours,
        history=False,  # the run itself; profiling the past first is bench.edge's
    )
    wall, cpu = time.monotonic() - wall, time.process_time() - cpu
    result = {
        "bench": "backtest_speed",
        "world": args.world,
        "hours": args.hours,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "sim_per_wall": round(args.hours * 3600 / wall, 1),
        "signals": report["signals"],
        "copies": report["copies"],
        "frames": report["feed"]["frames"],
        "target": "24 sim h of mixed <= 90 s",
    }
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main(__import__("sys").argv[1:])
