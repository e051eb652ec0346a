"""CLOB frames → order books: level updates per second vs raw ``orjson.loads`` of the same frames.

Both are measured in the same run on one core, in interleaved passes (the best of five each, CPU
time after a full collection), so the ratio is meaningful on a noisy machine. Targets: ≥ 100,000
level updates/s and ≥ 0.7× the raw parse rate.

Run: ``python -m bench.clob_books``.
"""

from __future__ import annotations

import gc
import json
import random
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson

from polytui.feeds.books import BookStore
from polytui.feeds.clob import ClobMarketFeed

TOKENS = 8
FRAMES = 40_000
SMOKE_FRAMES = 2_000
CHANGES_PER_FRAME = 3
REPEATS = 5


def make_frames(seed: int = 1, count: int = FRAMES) -> tuple[list[str], list[str], int]:
    """(snapshot frames, price_change frames, level updates in them)."""
    rng = random.Random(seed)
    tokens = [str(10**76 + i) for i in range(TOKENS)]
    snapshots = [
        json.dumps(
            [
                {
                    "event_type": "book",
                    "asset_id": t,
                    "market": "0x" + "ab" * 32,
                    "bids": [{"price": f"0.{40 + k:02d}", "size": "100"} for k in range(10)],
                    "asks": [{"price": f"0.{60 - k:02d}", "size": "100"} for k in range(10)],
                    "timestamp": "1757908892351",
                    "hash": "0",
                }
                for t in tokens
            ]
        )
    ]
    frames = []
    for n in range(count):
        changes = []
        for _ in range(CHANGES_PER_FRAME):
            side = rng.choice(["BUY", "SELL"])
            cents = rng.randrange(40, 50) if side == "BUY" else rng.randrange(51, 61)
            changes.append(
                {
                    "asset_id": rng.choice(tokens),
                    "price": f"0.{cents:02d}",
                    "size": str(rng.choice([0, 5, 50, 120, 400])),
                    "side": side,
                    "hash": f"{n:040x}",
                    "best_bid": "0.49",
                    "best_ask": "0.51",
                }
            )
        frames.append(
            json.dumps(
                {
                    "event_type": "price_change",
                    "market": "0x" + "ab" * 32,
                    "timestamp": str(1757908892351 + n),
                    "price_changes": changes,
                }
            )
        )
    return snapshots, frames, count * CHANGES_PER_FRAME


def _cpu_s(run: Callable[[], object]) -> float:
    """CPU seconds of one pass, after a full collection: neither side pays for the other's
    garbage, and time the machine gives to other work is not counted."""
    gc.collect()
    start = time.process_time()
    run()
    return time.process_time() - start


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run, print and return the figures."""
    smoke = "--smoke" in (argv or [])  # make test: a few seconds, figures printed
    snapshots, frames, updates = make_frames(count=SMOKE_FRAMES if smoke else FRAMES)
    books = BookStore()
    feed = ClobMarketFeed("ws://127.0.0.1:9", books)
    feed.tokens.update(str(10**76 + i) for i in range(TOKENS))
    for frame in snapshots:
        feed.handle_frame(frame)

    def raw() -> None:
        loads = orjson.loads
        for frame in frames:
            loads(frame)

    def ours() -> None:
        handle = feed.handle_frame
        for frame in frames:
            handle(frame)

    # Interleaved passes, the best of each: the two see the same machine.
    raw_s = ours_s = float("inf")
    for _ in range(1 if smoke else REPEATS):
        raw_s = min(raw_s, _cpu_s(raw))
        ours_s = min(ours_s, _cpu_s(ours))
    rejected = feed.status().rejected
    result = {
        "bench": "clob_books",
        "figures": [
            {
                "figure": "level updates/s",
                "value": round(updates / ours_s),
                "unit": "updates/s",
                "baseline": round(updates / raw_s),
                "ratio": round(raw_s / ours_s, 3),
                "target": ">= 100000 updates/s and ratio >= 0.7",
            }
        ],
        "frames": len(frames),
        "rejected": rejected,
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
