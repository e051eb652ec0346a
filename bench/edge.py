"""Does the strategy make money where the truth is known? Backtests over the built-in worlds.

Per world, over ``--seeds`` seeds of ``--hours`` sim hours each: copies/signals, P&L held to
resolution after fees ± SE (markets as the unit, pooled over seeds), the oracle's P&L (same
sizing and latency, copying exactly the wallets whose true copy edge at our latency is
positive), the capture ratio (ours ÷ oracle), and the Spearman rank correlation between the
strategy's estimate of each wallet (its shrunk win-rate score, the only per-wallet estimate it
keeps) and the wallet's true copy edge. The defaults are the recorded baseline's size: ``noise``
and ``mixed``, seeds 1-5, 24 sim hours each. ``--smoke`` (``make test``): 3 sim minutes, one seed.

    python -m bench.edge [--hours H] [--seeds N] [--worlds a,b] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import time
from decimal import Decimal
from typing import Any

from polytui.backtest.command import backtest_report
from polytui.backtest.world import builtin_worlds
from polytui.config import LoadedConfig
from polytui.settings import Settings


def _ranks(values: list[Decimal]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(xs: list[Decimal], ys: list[Decimal]) -> float | None:
    """Spearman's rho (average ranks for ties); None under three pairs or no spread."""
    if len(xs) < 3:
        return None
    rx, ry = _ranks(xs), _ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = sum((a - mx) ** 2 for a in rx)
    vy = sum((b - my) ** 2 for b in ry)
    if vx == 0 or vy == 0:
        return None
    return round(cov / (vx * vy) ** 0.5, 3)


def world_figures(name: str, seeds: list[int], hours: float) -> dict[str, Any]:
    """One world over several seeds."""
    loaded = LoadedConfig(Settings(), None)
    ours, oracle, se2, oracle_se2 = Decimal(0), Decimal(0), Decimal(0), Decimal(0)
    copies = signals = 0
    est: list[Decimal] = []
    truth: list[Decimal] = []
    per_seed = []
    started = time.monotonic()
    for seed in seeds:
        r = backtest_report(loaded, scenario=name, scenario_file=None, seed=seed, hours=hours)
        ours += Decimal(r["pnl"]["hold_to_resolution"])
        oracle += Decimal(r["oracle"]["pnl"])
        se2 += Decimal(r["pnl"]["se"]) ** 2
        oracle_se2 += Decimal(r["oracle"]["se"]) ** 2
        copies += r["copies"]
        signals += r["signals"]
        for w in r["whales"]:
            if w["score"] is not None:
                est.append(Decimal(w["score"]))
                truth.append(Decimal(w["true_copy_edge"]))
        per_seed.append(
            {
                "seed": seed,
                "copies": r["copies"],
                "signals": r["signals"],
                "pnl": r["pnl"]["hold_to_resolution"],
                "se": r["pnl"]["se"],
                "oracle": r["oracle"]["pnl"],
                "fees": r["fees_usd"],
            }
        )
    capture = float(ours / oracle) if oracle > 0 else None
    return {
        "world": name,
        "seeds": seeds,
        "hours": hours,
        "copies": copies,
        "signals": signals,
        "pnl_usd": str(ours.quantize(Decimal("0.01"))),
        "pnl_se_usd": str(se2.sqrt().quantize(Decimal("0.01"))),
        "oracle_pnl_usd": str(oracle.quantize(Decimal("0.01"))),
        "oracle_se_usd": str(oracle_se2.sqrt().quantize(Decimal("0.01"))),
        "capture_ratio": None if capture is None else round(capture, 3),
        "spearman_score_vs_true_copy_edge": spearman(est, truth),
        "wall_s": round(time.monotonic() - started, 1),
        "per_seed": per_seed,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.edge")
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--worlds", default="noise,mixed", help=f"comma-separated: {', '.join(builtin_worlds())}"
    )
    parser.add_argument("--smoke", action="store_true", help="make test: 3 sim minutes, 1 seed")
    args = parser.parse_args(argv or [])
    if args.smoke:
        args.hours, args.seeds = 0.05, 1
    worlds = [w for w in args.worlds.split(",") if w]
    result: dict[str, Any] = {"bench": "edge", "worlds": []}
    for name in worlds:
        figures = world_figures(name, list(range(1, args.seeds + 1)), args.hours)
        result["worlds"].append(figures)
        print(
            f"{name:>8}: copies/signals {figures['copies']}/{figures['signals']}, "
            f"P&L {figures['pnl_usd']} ± {figures['pnl_se_usd']}, "
            f"oracle {figures['oracle_pnl_usd']} ± {figures['oracle_se_usd']}, "
            f"capture {figures['capture_ratio']}, "
            f"spearman {figures['spearman_score_vs_true_copy_edge']}",
            flush=True,
        )
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main(__import__("sys").argv[1:])
