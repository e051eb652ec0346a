"""Soak: 10^6 frames through the engine — RSS at start and end, queue sizes bounded.

A real engine (``polytui.wiring.build_engine``: journal, strategy, paper broker, portfolio, bus)
runs on its loop with the simulator serving Gamma over loopback HTTP. Frames enter where the
WebSocket would hand them over: CLOB ``price_change`` frames into the CLOB feed's frame handler
(→ order books → engine), and RTDS ``activity/trades`` frames of watched whales into the RTDS
feed's handler (→ merged stream → engine → strategy → journal). One bus subscriber drains every
100 ms (the UI); another never drains (a stuck client) and must stay bounded by its maxsize.

Figures: RSS after set-up, after a warm-up of 10 % of the frames (caches full) and at the end;
growth from warm-up to end (target ≤ 5 %); the largest engine inbox, whale-stream backlog and
bus backlogs seen; frames/s against raw ``orjson.loads`` of the same frames in the same run.

Run: ``python -m bench.soak`` (10^6 frames) or ``python -m bench.soak --frames 100000``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

FRAMES = 1_000_000
SMOKE_FRAMES = 20_000
WHALE_EVERY = 1_000  # one watched-whale trade per 1,000 frames (1,000 in a full run)
CHUNK = 500
POOL = 20_000
WARMUP = 0.10
SAMPLE_EVERY = 5_000
UI_MAXSIZE = 10_000
STUCK_MAXSIZE = 1_000


def rss_bytes() -> int:
    """Resident set size of this process, from /proc."""
    with open("/proc/self/statm", encoding="ascii") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def clob_pool(tokens: list[str], seed: int) -> list[str]:
    """Distinct price_change frames (3 level changes each) over the scenario's tokens."""
    rng = random.Random(seed)
    frames = []
    for n in range(POOL):
        changes = []
        for _ in range(3):
            side = rng.choice(["BUY", "SELL"])
            cents = rng.randrange(2, 50) if side == "BUY" else rng.randrange(50, 99)
            changes.append(
                {
                    "asset_id": rng.choice(tokens),
                    "price": f"0.{cents:02d}",
                    "size": str(rng.choice([0, 5, 50, 120, 400, 1500])),
                    "side": side,
                    "hash": f"{n:040x}",
                    "best_bid": "",
                    "best_ask": "",
                }
            )
        frames.append(
            orjson.dumps(
                {
                    "event_type": "price_change",
                    "market": "0x" + "ab" * 32,
                    "timestamp": str(1_757_908_892_351 + n),
                    "price_changes": changes,
                }
            ).decode()
        )
    return frames


class Frames:
    """The same frame sequence for the baseline and the engine run."""

    def __init__(self, sim: Any, total: int, seed: int = 1) -> None:
        from polytui.sim.wire import dumps, rtds_frame

        self.total = total
        scenario = sim.scenario
        tokens = [t for m in scenario.markets for t in (m.yes_token, m.no_token)]
        self.pool = clob_pool(tokens, seed)
        watched = {w.wallet for w in scenario.whales if w.watched}
        trades = [t for t in scenario.trades if t.wallet in watched][:200]
        # A template per trade; the transaction hash and time are filled in per frame, so every
        # whale frame is a new fill (nothing is deduplicated away).
        self.templates = []
        for trade in trades:
            frame = rtds_frame(scenario, trade, 0.0, 0)
            frame["payload"]["transactionHash"] = "TXHASH"
            frame["payload"]["timestamp"] = 1_999_999_999
            frame["timestamp"] = 1_999_999_999_000
            # The simulator's own writer: amounts are Decimal up to the wire (JSON numbers).
            self.templates.append(dumps(frame))

    def whale(self, n: int) -> str:
        template = self.templates[n % len(self.templates)]
        now = time.time()
        return (
            template.replace("TXHASH", f"0x{n:064x}")
            .replace("1999999999000", str(int(now * 1000)))
            .replace("1999999999", str(int(now)))
        )

    def get(self, n: int) -> tuple[str, str]:
        """("clob" | "rtds", frame text) for frame number ``n``."""
        if n % WHALE_EVERY == WHALE_EVERY - 1:
            return "rtds", self.whale(n)
        return "clob", self.pool[n % len(self.pool)]


def baseline(frames: Frames) -> float:
    """Raw orjson.loads of the same frames, frames/s."""
    start = time.perf_counter()
    for n in range(frames.total):
        orjson.loads(frames.get(n)[1])
    return frames.total / (time.perf_counter() - start)


async def soak(total: int) -> dict[str, Any]:
    from polytui.config import LoadedConfig, apply_overrides
    from polytui.engine import Engine
    from polytui.settings import Settings
    from polytui.sim.server import SimServer
    from polytui.sim.wire import dumps
    from polytui.wiring import build_parts

    async with SimServer("demo", seed=7, speed=1.0) as sim:
        os.environ.pop("POLYTUI_POLYGON_WS", None)
        frames = Frames(sim, total)
        raw_rate = baseline(frames)
        with tempfile.TemporaryDirectory(prefix="polytui-soak-") as tmp:
            settings = apply_overrides(Settings(), sim.settings_overrides())
            settings.storage.data_dir = Path(tmp)
            settings.approval.policy = "manual"
            settings.feeds.dataapi_poll_enabled = False
            settings.strategy.prior_edge = Decimal("0.2")  # copy the unmeasured whales
            settings.strategy.confidence_z = Decimal(0)
            # Frames are handed to the market channel's and RTDS's handlers directly.
            parts, driven = build_parts(LoadedConfig(settings, None), driven=True)
            engine = Engine(parts)
            clob, activity = driven.clob, driven.activity
            assert activity is not None
            clob.subscribe([t for m in sim.scenario.markets for t in (m.yes_token, m.no_token)])
            for market in sim.scenario.markets:  # the snapshots the channel sends first
                for token in (market.yes_token, market.no_token):
                    clob.handle_frame(dumps([sim.book(token, 0.0)]))
            ui = engine.subscribe(UI_MAXSIZE)
            stuck = engine.subscribe(STUCK_MAXSIZE)
            task = asyncio.create_task(engine.run())
            peaks = {"inbox": 0, "stream": 0, "ui": 0, "stuck": 0}
            ui_events = 0

            async def drain_ui() -> None:
                nonlocal ui_events
                while True:
                    await asyncio.sleep(0.1)
                    peaks["ui"] = max(peaks["ui"], len(ui))
                    ui_events += len(ui.drain())

            drainer = asyncio.create_task(drain_ui())
            await asyncio.sleep(0.5)
            gc.collect()
            rss_setup = rss_bytes()
            rss_warm = 0
            samples: list[tuple[int, int]] = []
            handlers = {"clob": clob.ws.on_frame, "rtds": activity.ws.on_frame}
            start = time.perf_counter()
            for base in range(0, total, CHUNK):
                for n in range(base, min(total, base + CHUNK)):
                    source, text = frames.get(n)
                    handlers[source](text)
                # Let the engine keep up (a socket would apply the same back-pressure).
                while engine.inbox.qsize() > 500 or engine.stream.pending > 200:
                    await asyncio.sleep(0.001)
                await asyncio.sleep(0)
                peaks["inbox"] = max(peaks["inbox"], engine.inbox.qsize())
                peaks["stream"] = max(peaks["stream"], engine.stream.pending)
                peaks["stuck"] = max(peaks["stuck"], len(stuck))
                done = min(total, base + CHUNK)
                if not rss_warm and done >= total * WARMUP:
                    gc.collect()
                    rss_warm = rss_bytes()
                if done % SAMPLE_EVERY == 0:
                    samples.append((done, rss_bytes()))
            while not engine.idle():
                await asyncio.sleep(0.01)
            elapsed = time.perf_counter() - start
            await asyncio.sleep(0.3)  # one more tick: bus and journal flushed
            gc.collect()
            rss_end = rss_bytes()
            await engine.stop()
            await task
            drainer.cancel()
            statuses = {s.name: s for s in (clob.status(), activity.status())}
            signals = engine.journal.count("signal")
            engine.journal.close()
    rate = total / elapsed
    growth = (rss_end - rss_warm) / rss_warm
    mb = 1024 * 1024
    return {
        "bench": "soak",
        "figures": [
            {
                "figure": "RSS growth after warm-up",
                "value": round(growth * 100, 2),
                "unit": "%",
                "target": "<= 5 %",
                "met": growth <= 0.05,
            },
            {
                "figure": "frames through the engine",
                "value": round(rate),
                "unit": "frames/s",
                "baseline": round(raw_rate),
                "ratio": round(rate / raw_rate, 3),
                "target": "queues bounded; baseline is raw orjson.loads of the same frames",
            },
        ],
        "frames": total,
        "whale_frames": total // WHALE_EVERY,
        "seconds": round(elapsed, 1),
        "rss_mb": {
            "after_setup": round(rss_setup / mb, 1),
            "after_warmup": round(rss_warm / mb, 1),
            "end": round(rss_end / mb, 1),
            "growth_from_setup_pct": round((rss_end - rss_setup) / rss_setup * 100, 2),
        },
        "rss_samples_mb": [round(r / mb, 1) for _, r in samples[:: max(1, len(samples) // 10)]],
        "max_queue": {
            "engine_inbox": peaks["inbox"],
            "whale_stream": peaks["stream"],
            "bus_ui": peaks["ui"],
            "bus_stuck_client": peaks["stuck"],
        },
        "bus": {
            "published": engine.bus.published,
            "ui_received": ui_events,
            "stuck_dropped": stuck.dropped,
            "stuck_maxsize": STUCK_MAXSIZE,
        },
        "inbox_dropped": engine.inbox.dropped,
        "rejected": {name: s.rejected for name, s in statuses.items()},
        "signals_journaled": signals,
        "bounded": peaks["stuck"] <= STUCK_MAXSIZE and engine.inbox.dropped == 0,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run, print and return the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.soak")
    parser.add_argument("--frames", type=int, default=FRAMES, help="frames to push (10^6)")
    parser.add_argument("--smoke", action="store_true", help="make test: 20,000 frames")
    args = parser.parse_args(argv or [])
    if args.smoke:
        args.frames = SMOKE_FRAMES
    result = asyncio.run(soak(args.frames))
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
