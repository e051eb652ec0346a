"""Mempool → pending intent in the simulator's world: the source's delay plus ours.

The simulator (another process) announces each whale fill's ``matchOrders`` transaction pending
0.65 s after the match (the measured median, HISTORY-MEMPOOL-REMOTE.md §2.2), RTDS at 1.9 s,
the log at 2.2 s. A bare ``websockets`` subscriber to the same pending-transaction stream stamps
each transaction's arrival (the baseline); the real engine — every source on, manual approval —
stamps the moment the mempool source hands on the decoded trade, the merged stream hands it to
the engine, and the engine publishes the pending intent it became. The source's delay is the
bare arrival minus the match (in sim seconds); ours is each stamp minus the bare arrival.
Target (issue 22): ~0.65 s + ≤ 5 ms ours. The engine's share includes the strategy and the
journal's commit of the intent (it is durable before it is shown); the first trade in each
market also waits for its market metadata and book (a cold market, issue 22 §2), so the warm
figures are reported apart.

Run: ``python -m bench.mempool_latency`` (``--smoke``: a few seconds).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import websockets

SPEED = 2.0  # sim seconds per wall second; the sim's 0.25 s tick stays fine next to RTDS
RUN_S = 180.0  # ~80 demo trades
SMOKE_RUN_S = 8.0

SIM = """
import asyncio, json, sys
from polytui.sim.server import SimServer

async def main():
    async with SimServer("demo", seed=7, speed=float(sys.argv[1])) as sim:
        print(json.dumps({
            "overrides": sim.settings_overrides(), "env": sim.environment(),
            "wall0": sim.world.wall0,
            "match": {t.tx_hash: [t.t, t.market] for t in sim.scenario.trades},
        }), flush=True)
        await asyncio.sleep(float(sys.argv[2]))

asyncio.run(main())
"""


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def _summary(values: list[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "p50": round(statistics.median(values), 3) if values else None,
        "p99": _pct(values, 0.99),
        "max": round(max(values), 3) if values else None,
    }


async def _bare(url: str, seen: dict[str, tuple[float, float]]) -> None:
    """The baseline: the same subscription, arrival stamped, nothing else."""
    async with websockets.connect(url, max_size=None) as ws:
        request = {"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe",
                   "params": ["newPendingTransactions", True]}  # fmt: skip
        await ws.send(json.dumps(request))
        async for frame in ws:
            at = (time.perf_counter(), time.time())
            result = json.loads(frame).get("params", {}).get("result")
            if isinstance(result, dict):
                seen.setdefault(str(result["hash"]).lower(), at)


def _settings(world: dict[str, Any], data_dir: Path) -> Any:
    from polytui.config import apply_overrides
    from polytui.settings import Settings

    settings = apply_overrides(Settings(), world["overrides"])
    settings.storage.data_dir = data_dir
    settings.approval.policy = "manual"  # intents stay pending: nothing else runs after them
    settings.strategy.prior_edge, settings.strategy.confidence_z = Decimal("0.2"), Decimal(0)
    settings.paper.starting_balance_usd = Decimal(100_000)
    return settings


def _stamp(source: Any, into: dict[str, float]) -> None:
    """Stamp each mempool trade ``source`` hands on (its ``on_trade`` callback)."""
    hand_on = source.on_trade

    def stamped(trade: Any) -> None:
        if trade.source.value == "mempool":
            into.setdefault(trade.tx_hash, time.perf_counter())
        hand_on(trade)

    source.on_trade = stamped


def _stamp_intents(engine: Any, into: dict[str, float]) -> None:
    """Stamp each pending intent a mempool signal became, as the engine publishes it."""
    from polytui import events as ev

    publish = engine.bus.publish

    def stamped(event: Any) -> None:
        if isinstance(event, ev.IntentUpdated):
            signal = engine.publisher.signals.get(event.intent.signal_id)
            if signal is not None and signal.trades[0].source.value == "mempool":
                into.setdefault(signal.trades[0].tx_hash, time.perf_counter())
        publish(event)

    engine.bus.publish = stamped


async def _run(run_s: float) -> dict[str, Any]:
    from polytui.config import LoadedConfig
    from polytui.engine import freeze_heap
    from polytui.wiring import build_engine

    sim = subprocess.Popen(
        [sys.executable, "-c", SIM, str(SPEED), str(run_s + 10)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    stamps: dict[str, dict[str, float]] = {"trade": {}, "engine": {}, "intent": {}}
    bare: dict[str, tuple[float, float]] = {}
    try:
        assert sim.stdout is not None
        world = json.loads(await asyncio.to_thread(sim.stdout.readline))
        os.environ.update(world["env"])
        with tempfile.TemporaryDirectory() as tmp:
            engine = build_engine(LoadedConfig(_settings(world, Path(tmp)), None))
            _stamp(engine.feeds["mempool"], stamps["trade"])
            _stamp(engine.stream, stamps["engine"])
            _stamp_intents(engine, stamps["intent"])
            freeze_heap()
            watcher = asyncio.create_task(_bare(world["env"]["POLYTUI_POLYGON_WS"], bare))
            task = asyncio.create_task(engine.run())
            await asyncio.sleep(run_s)
            stream = engine.stream
            per_source = {s: stream.latency_p50(s) for s in sorted(stream.first_arrivals)}
            firsts = dict(stream.first_arrivals)
            await engine.stop()
            await asyncio.gather(task, return_exceptions=True)
            watcher.cancel()
            engine.journal.close()
    finally:
        sim.terminate()
        sim.wait(timeout=10)
    return _figures(world, bare, stamps, per_source, firsts)


def _figures(
    world: dict[str, Any],
    bare: dict[str, tuple[float, float]],
    stamps: dict[str, dict[str, float]],
    per_source: dict[str, int | None],
    firsts: dict[str, int],
) -> dict[str, Any]:
    wall0, match = world["wall0"], world["match"]
    source_s = [(bare[h][1] - (wall0 + match[h][0] / SPEED)) * SPEED for h in bare if h in match]
    ours: dict[str, list[float]] = {name: [] for name in stamps}
    warm: dict[str, list[float]] = {name: [] for name in stamps}
    traded: set[int] = set()  # markets the engine has seen a trade in: warm from then on
    for h in sorted(bare, key=lambda x: bare[x][0]):
        market = match[h][1] if h in match else None
        for name, at in stamps.items():
            if h in at:
                ours[name].append((at[h] - bare[h][0]) * 1000)
                if market in traded:
                    warm[name].append(ours[name][-1])
        if market is not None:
            traded.add(market)
    return {
        "speed": SPEED,
        "pending_txs_seen": len(bare),
        "source_delay_s": _summary(source_s),
        # after the bare subscriber: the decoded trade (source), at the engine (stream), intent
        "ours_ms": {name: _summary(values) for name, values in ours.items()},
        "ours_warm_ms": {name: _summary(values) for name, values in warm.items()},
        "target": "source ~0.65 s + ours <= 5 ms",
        "first_arrivals": firsts,
        "latency_p50_sim_s": {
            s: None if v is None else round(v * SPEED / 1000, 3) for s, v in per_source.items()
        },
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Print and return the figures."""
    smoke = "--smoke" in (argv or [])
    result = asyncio.run(_run(SMOKE_RUN_S if smoke else RUN_S))
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
