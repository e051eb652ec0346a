"""Console under a flood: keypress → repaint latency and CPU share.

A FakeEngine holding 1,000 positions and 10,000 signals publishes 2,000 events a second on the
real event bus while the real console runs headless at 160×48. The mix follows what feeds
produce: 85 % book-top changes (random tokens), 5 % new whale signals (100 a second, far above
any real whale flow), 5 % re-marks of all 1,000 positions, 2.5 % P&L and 2.5 % feed counters.
``p`` is pressed repeatedly; the latency is the time from the key event entering the app to the
first rendered frame whose header shows the new state.

Run: ``python -m bench.ui_flood`` (``--seconds``, ``--rate``, ``--samples`` to change the load).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

from textual import events

from polytui import events as ev
from polytui.clock import FakeClock
from polytui.model import BookTop, Position
from polytui.tui.app import PolytuiApp
from polytui.tui.fake import FakeEngine
from polytui.tui.fixtures import ALIASES, SCENARIO_START, build_feeds, build_scenario

POSITIONS = 1_000
SIGNALS = 10_000
RATE = 2_000
SECONDS = 8.0
SAMPLES = 60
SIZE = (160, 48)


def build_engine(clock: FakeClock) -> tuple[FakeEngine, list[tuple[Position, ...]]]:
    """The seeded scenario scaled to 1,000 positions and 10,000 signals, plus two sets of
    position marks to alternate between (so the flood does not build objects while timed)."""
    engine = build_scenario(clock, signals=SIGNALS, pending=3)
    base = engine.positions
    rng = random.Random(11)
    positions = []
    for n in range(POSITIONS):
        template = base[n % len(base)]
        positions.append(
            replace(
                template,
                token_id=f"bench-{n:05d}",
                end_time=SCENARIO_START + timedelta(minutes=rng.randint(-60, 60 * 24 * 30)),
            )
        )
    engine.positions = positions
    marked = [
        tuple(replace(p, mark_price=p.avg_price + Decimal(k) / 100) for p in positions)
        for k in (1, -1)
    ]
    return engine, marked


async def flood(
    engine: FakeEngine, marked: list[tuple[Position, ...]], rate: int, stop: asyncio.Event
) -> dict[str, float]:
    """Publish ``rate`` events a second in 10 ms slices until ``stop``; returns its own cost."""
    rng = random.Random(5)
    signals = list(engine.signals.values())
    feeds = build_feeds()
    per_slice = max(1, rate // 100)
    published = 0
    busy_s = 0.0
    tick = 0
    start = time.perf_counter()
    while not stop.is_set():
        began = time.perf_counter()
        for k in range(per_slice):
            roll = k % 40
            if roll < 34:
                token = f"bench-{rng.randrange(POSITIONS):05d}"
                bid = Decimal(rng.randint(10, 89)) / 100
                top = BookTop(token, bid, bid + Decimal("0.01"), Decimal(100), Decimal(100), False)
                engine.bus.publish(ev.BookChanged(top))
            elif roll < 36:
                template = signals[rng.randrange(len(signals))]
                fresh = replace(template, id=f"flood-{published}-{k}")
                engine.bus.publish(ev.SignalUpdated(fresh))
            elif roll < 38:
                engine.bus.publish(ev.PositionsChanged(marked[tick % 2]))
            elif roll < 39:
                engine.bus.publish(ev.PnLChanged(engine.pnl))
            else:
                engine.bus.publish(ev.FeedStatusChanged(feeds))
        published += per_slice
        tick += 1
        busy_s += time.perf_counter() - began
        # Sleep to the next 10 ms slice boundary so the rate holds under load.
        next_at = start + tick * 0.01
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    elapsed = time.perf_counter() - start
    return {"published": published, "rate_per_s": published / elapsed, "busy_s": busy_s}


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def run(seconds: float = SECONDS, rate: int = RATE, samples: int = SAMPLES) -> dict[str, Any]:
    """Run the flood and the key presses; return the measurements."""
    clock = FakeClock(SCENARIO_START)
    engine, marked = build_engine(clock)
    app = PolytuiApp(engine, clock=clock, aliases=ALIASES, tick_s=1.0)
    frames: list[tuple[float, str]] = []
    launched = time.perf_counter()
    first_frame: list[float] = []
    original_display = app._display

    def probe(screen: Any, renderable: Any) -> None:
        # Called by Textual with every composed frame (headless skips only the terminal write).
        if renderable is not None:
            now = time.perf_counter()
            if not first_frame:
                first_frame.append(now - launched)
            flags = str(app.query_one("#flags").content) if app.is_mounted else ""
            frames.append((now, flags))
        original_display(screen, renderable)

    app._display = probe  # type: ignore[method-assign]
    latencies: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.5)
        stop = asyncio.Event()
        feeder = asyncio.create_task(flood(engine, marked, rate, stop))
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.sleep(0.5)  # let the flood reach its steady state
        rng = random.Random(3)
        deadline = wall0 + seconds
        while len(latencies) < samples and time.perf_counter() < deadline:
            before = str(app.query_one("#flags").content)
            seen = len(frames)
            pressed = time.perf_counter()
            assert app._driver is not None
            app._driver.send_message(events.Key("p", "p"))
            while time.perf_counter() - pressed < 2.0:
                await asyncio.sleep(0.001)
                changed = [t for t, flags in frames[seen:] if flags and flags != before]
                if changed:
                    latencies.append(changed[0] - pressed)
                    break
            await asyncio.sleep(rng.uniform(0.05, 0.15))
        stop.set()
        flood_stats = await feeder
        cpu = time.process_time() - cpu0
        wall = time.perf_counter() - wall0
    process_share = cpu / wall
    feeder_share = flood_stats["busy_s"] / wall
    ms = [x * 1000 for x in latencies]
    return {
        "size": f"{SIZE[0]}x{SIZE[1]}",
        "positions": POSITIONS,
        "signals_preloaded": SIGNALS,
        "events_per_s": round(flood_stats["rate_per_s"]),
        "events_published": flood_stats["published"],
        "mix": "85% book, 5% new signals, 5% all-positions re-mark, 2.5% pnl, 2.5% feeds",
        "samples": len(ms),
        "keypress_to_frame_ms_p50": round(statistics.median(ms), 1) if ms else None,
        "keypress_to_frame_ms_p95": round(percentile(ms, 0.95), 1) if ms else None,
        "keypress_to_frame_ms_max": round(max(ms), 1) if ms else None,
        "first_frame_s": round(first_frame[0], 3) if first_frame else None,
        "frames_per_s": round(len(frames) / wall, 1),
        "process_cpu_share": round(process_share, 3),
        "publisher_cpu_share": round(feeder_share, 3),
        "console_cpu_share": round(process_share - feeder_share, 3),
        "subscription_dropped": 0,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark, print its JSON result and return it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=SECONDS)
    parser.add_argument("--rate", type=int, default=RATE)
    parser.add_argument("--samples", type=int, default=SAMPLES)
    parser.add_argument("--smoke", action="store_true", help="make test: 2 s, a few samples")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.smoke:
        args.seconds, args.samples = 2.0, 5
    result = asyncio.run(run(args.seconds, args.rate, args.samples))
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
