"""Whale fill on the wire → pending intent on the bus: warm markets, cold ones, a cold burst.

The simulator runs in another process (so its clock and book updates never compete with the
engine for this interpreter) and serves Gamma, the data-api, the CLOB's book routes, the market
channel and RTDS, with ``RTT_MS`` injected by the server on every REST answer and every
market-channel subscription answer. A real engine (paper, manual approval, RTDS as its whale
source) watches the bench's wallets; the simulator sends each made-up fill as one RTDS frame to
every RTDS client, and a bare ``websockets`` subscriber on the same RTDS socket path times its
arrival (the baseline). Ours is when the pending intent reaches a bus subscriber.

- warm: fills in markets the wallets hold (the warm-up found them): extra over the bare
  subscriber. Target p99 ≤ 5 ms.
- cold: the first fill in a market nobody looked at, one at a time. Target p99 ≤ 2 × RTT +
  snapshot, the snapshot being a bare subscriber's subscription answer less its RTT.
- burst: 20 fills in 20 cold markets sent back to back. Target: the last intent ≤ 3 × RTT after
  its frame.

Run: ``python -m bench.signal_latency`` (``--smoke``: a few samples of each).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import websockets

from polytui import events as ev
from polytui.config import LoadedConfig, apply_overrides
from polytui.engine import freeze_heap
from polytui.model import IntentStatus
from polytui.settings import Settings
from polytui.sim.handmade import handmade_scenario, made_up_fill
from polytui.sim.scenario import Scenario
from polytui.wiring import build_engine

RTT_MS = 80
ROOT = Path(__file__).resolve().parents[1]
FULL = {"whales": 13, "warm": 4, "warm_fills": 100, "cold": 20, "burst": 20, "probes": 20}
SMOKE = {"whales": 3, "warm": 2, "warm_fills": 10, "cold": 3, "burst": 5, "probes": 3}

# The simulator's process: serves the bench scenario, publishes the fills asked on stdin.
SERVER = "import asyncio, json, sys; from bench.signal_latency import serve; " + (
    "asyncio.run(serve(json.loads(sys.argv[1])))"
)


def bench_scenario(shape: dict[str, int]) -> Scenario:
    """Warm markets first (every wallet holds them), then cold, burst and probe ones."""
    count = shape["warm"] + shape["cold"] + shape["burst"] + shape["probes"]
    return handmade_scenario(count, shape["whales"], shape["warm"], "signal-latency")


async def serve(spec: dict[str, Any]) -> None:
    """The simulator process: port and settings on stdout, then one JSON command a line."""
    from polytui.sim.server import SimServer

    scenario = bench_scenario(spec["shape"])
    async with SimServer(scenario, speed=1.0) as sim:
        sim.inject_latency(spec["rtt_s"], spec["rtt_s"])
        print(json.dumps({"overrides": sim.settings_overrides()}), flush=True)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        sent = 0
        while line := await reader.readline():
            command = json.loads(line)
            if command.get("op") != "fills":
                break
            trades = []
            for whale, market, yes in command["fills"]:
                sent += 1
                wallet = scenario.whales[whale].wallet
                fill = made_up_fill(scenario.markets[market], wallet, yes, sim.now(), str(sent))
                trades.append(fill)
            await sim.publish_fills(trades)


class Timings:
    """Arrival times, keyed by (wallet, token): at the bare subscriber and as pending intents."""

    def __init__(self) -> None:
        self.bare: dict[tuple[str, str], float] = {}
        self.ours: dict[tuple[str, str], float] = {}
        self.intent_ids: dict[tuple[str, str], str] = {}

    async def bare_rtds(self, url: str) -> None:
        """The baseline: read and parse every RTDS frame, nothing else."""
        async with websockets.connect(url) as ws:
            await ws.send(
                json.dumps(
                    {
                        "action": "subscribe",
                        "subscriptions": [{"topic": "activity", "type": "trades"}],
                    }
                )
            )
            async for raw in ws:
                if not raw or raw == "PONG":
                    continue
                payload = json.loads(raw).get("payload", {})
                key = (str(payload.get("proxyWallet", "")).lower(), str(payload.get("asset", "")))
                self.bare.setdefault(key, time.perf_counter())

    async def intents(self, engine: Any) -> None:
        """Ours: a bus subscriber's view of each new pending intent."""
        sub = engine.subscribe()
        while True:
            events = await sub.wait()
            now = time.perf_counter()
            for event in events:
                if isinstance(event, ev.IntentUpdated):
                    intent = event.intent
                    key = (intent.wallet.lower(), intent.token_id)
                    if intent.status is IntentStatus.PENDING and key not in self.ours:
                        self.ours[key] = now
                        self.intent_ids[key] = intent.id

    def latency_ms(self, key: tuple[str, str]) -> float | None:
        if key in self.ours and key in self.bare:
            return (self.ours[key] - self.bare[key]) * 1000
        return None


async def snapshot_ms(url: str, tokens: list[str]) -> list[float]:
    """A bare subscriber's subscription answers (subscribe sent → its book parsed), one token
    at a time on one market-channel connection."""
    out: list[float] = []
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"assets_ids": [], "type": "market"}))
        for token in tokens:
            started = time.perf_counter()
            await ws.send(json.dumps({"operation": "subscribe", "assets_ids": [token]}))
            while True:
                events = json.loads(await asyncio.wait_for(ws.recv(), 5))
                items = events if isinstance(events, list) else [events]
                if any(e.get("event_type") == "book" and e.get("asset_id") == token for e in items):
                    out.append((time.perf_counter() - started) * 1000)
                    break
    return out


async def lookup_ms(gamma_url: str, tokens: list[str]) -> list[float]:
    """A bare client's Gamma lookups by token (the call a cold market costs first)."""
    import httpx

    out: list[float] = []
    async with httpx.AsyncClient(timeout=5) as client:
        for token in tokens:
            started = time.perf_counter()
            response = await client.get(
                f"{gamma_url}/markets", params=[("clob_token_ids", token), ("closed", "false")]
            )
            response.json()
            out.append((time.perf_counter() - started) * 1000)
    return out


def commit_ms(folder: Path, commits: int) -> list[float]:
    """A bare durable commit on the same disk (SQLite WAL, synchronous FULL, as the journal):
    the part of our delay that is the disk's, not ours."""
    import sqlite3

    conn = sqlite3.connect(folder / "bare.sqlite", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE t (v TEXT)")
    out: list[float] = []
    for n in range(commits):
        started = time.perf_counter()
        conn.execute("BEGIN")
        conn.execute("INSERT INTO t VALUES (?)", (str(n) * 100,))
        conn.execute("COMMIT")
        out.append((time.perf_counter() - started) * 1000)
    conn.close()
    return out


def engine_settings(overrides: dict[str, Any], data_dir: Path) -> Settings:
    s = apply_overrides(Settings(), overrides)
    s.storage.data_dir = data_dir
    s.approval.policy = "manual"  # intents stay pending: nothing is sent
    s.strategy.prior_edge, s.strategy.confidence_z = Decimal("0.2"), Decimal(0)
    s.paper.starting_balance_usd = Decimal(1_000_000)
    s.feeds.chain_enabled = False
    s.feeds.dataapi_poll_enabled = False
    return s


def pct(values: list[float], p: float) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 3)


class Bench:
    """The engine, its timings and the simulator process it talks to."""

    def __init__(self, shape: dict[str, int], proc: Any, engine: Any, timings: Timings) -> None:
        self.shape = shape
        self.proc = proc
        self.engine = engine
        self.timings = timings
        self.scenario = bench_scenario(shape)

    async def send(self, fills: list[tuple[int, int, bool]]) -> list[tuple[str, str]]:
        """Ask the simulator to send these fills (wallet, market, YES?) now; their keys."""
        self.proc.stdin.write((json.dumps({"op": "fills", "fills": fills}) + "\n").encode())
        await self.proc.stdin.drain()
        keys = []
        for whale, market, yes in fills:
            m = self.scenario.markets[market]
            keys.append((self.scenario.whales[whale].wallet, m.yes_token if yes else m.no_token))
        return keys

    async def settle(self, keys: list[tuple[str, str]], timeout_s: float = 5.0) -> None:
        """Until every fill's intent is pending; then the operator rejects them (a queue of
        hundreds of unanswered intents is no session's)."""
        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline:
            if all(k in self.timings.ours and k in self.timings.bare for k in keys):
                break
            await asyncio.sleep(0.005)
        for key in keys:
            if key in self.timings.intent_ids:
                await self.engine.command("reject", intent_id=self.timings.intent_ids[key])

    async def warm_phase(self) -> list[float]:
        """Fills in warm markets, one at a time: every (wallet, market, outcome) once."""
        shape = self.shape
        combos = [
            (w, m, yes)
            for yes in (True, False)
            for m in range(shape["warm"])
            for w in range(shape["whales"])
        ][: shape["warm_fills"]]
        out: list[float] = []
        for fill in combos:
            keys = await self.send([fill])
            await self.settle(keys)
            value = self.timings.latency_ms(keys[0])
            if value is not None:
                out.append(value)
            await asyncio.sleep(0.03)
        return out

    async def cold_phase(self) -> list[float]:
        """The first fill in each of ``cold`` markets, one market at a time."""
        first = self.shape["warm"]
        out: list[float] = []
        for market in range(first, first + self.shape["cold"]):
            keys = await self.send([(0, market, True)])
            await self.settle(keys)
            value = self.timings.latency_ms(keys[0])
            if value is not None:
                out.append(value)
            await asyncio.sleep(0.2)
        return out

    async def burst_phase(self) -> tuple[list[float], int]:
        """``burst`` fills in as many cold markets, sent back to back: (latencies, intents)."""
        first = self.shape["warm"] + self.shape["cold"]
        markets = range(first, first + self.shape["burst"])
        keys = await self.send([(k % self.shape["whales"], m, True) for k, m in enumerate(markets)])
        await self.settle(keys, 10.0)
        values = [v for k in keys if (v := self.timings.latency_ms(k)) is not None]
        return values, len(values)

    async def warmed(self, timeout_s: float = 30.0) -> None:
        """Until the warm-up found every warm market and its books are live."""
        warm = self.scenario.markets[: self.shape["warm"]]
        tokens = [t for m in warm for t in (m.yes_token, m.no_token)]
        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline:
            books = [self.engine.books.get(t) for t in tokens]
            feeds = self.engine.feed_statuses()
            if all(b is not None and not b.stale for b in books) and all(
                s.connected for s in feeds
            ):
                return
            await asyncio.sleep(0.05)
        raise RuntimeError("the warm-up did not warm the wallets' markets")


async def _run(shape: dict[str, int]) -> dict[str, Any]:
    spec = {"shape": shape, "rtt_s": RTT_MS / 1000}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        SERVER,
        json.dumps(spec),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stdin is not None
    overrides = json.loads(await proc.stdout.readline())["overrides"]
    os.environ.pop(Settings().feeds.polygon_ws_env, None)
    with tempfile.TemporaryDirectory() as folder:
        engine = build_engine(LoadedConfig(engine_settings(overrides, Path(folder)), None))
        timings = Timings()
        bench = Bench(shape, proc, engine, timings)
        tasks = [
            asyncio.create_task(engine.run()),
            asyncio.create_task(timings.intents(engine)),
            asyncio.create_task(timings.bare_rtds(overrides["feeds"]["rtds_ws_url"])),
        ]
        try:
            await bench.warmed()
            freeze_heap()  # as the engine does once its feeds are up
            first_probe = shape["warm"] + shape["cold"] + shape["burst"]
            probes = bench.scenario.markets[first_probe : first_probe + shape["probes"]]
            snapshots = await snapshot_ms(
                overrides["feeds"]["clob_ws_url"], [m.yes_token for m in probes]
            )
            lookups = await lookup_ms(overrides["feeds"]["gamma_url"], [m.no_token for m in probes])
            warm = await bench.warm_phase()
            cold = await bench.cold_phase()
            burst, burst_intents = await bench.burst_phase()
            commits = commit_ms(Path(folder), shape["warm_fills"])
            cold_markets = getattr(engine, "cold", None)  # absent before the cold-market work
            counters: dict[str, Any] = {
                "parked": getattr(cold_markets, "parked", None),
                "timeouts": getattr(cold_markets, "timeouts", None),
                "warm_markets": engine.feeds["warm"].warm_markets,
            }
        finally:
            await engine.stop()
            await asyncio.wait_for(tasks[0], 15)
            for task in tasks[1:]:
                task.cancel()
            proc.stdin.write(b'{"op": "stop"}\n')
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proc.wait(), 5)
            if proc.returncode is None:
                proc.kill()
            engine.journal.close()
    counters["bare_lookup_p50_ms"] = pct(lookups, 0.5)
    counters["bare_lookup_p99_ms"] = pct(lookups, 0.99)
    counters["bare_subscription_p50_ms"] = pct(snapshots, 0.5)
    counters["bare_subscription_p99_ms"] = pct(snapshots, 0.99)
    counters["commit_p50_ms"] = pct(commits, 0.5)
    counters["commit_p99_ms"] = pct(commits, 0.99)
    return _figures(shape, warm, cold, burst, burst_intents, snapshots, timings, counters)


def _figure(
    name: str, value: float | None, target: str, ok: bool | None, **more: Any
) -> dict[str, Any]:
    return {"figure": name, "value": value, "unit": "ms", "target": target, "met": ok, **more}


def _figures(
    shape: dict[str, int],
    warm: list[float],
    cold: list[float],
    burst: list[float],
    burst_intents: int,
    snapshots: list[float],
    timings: Timings,
    counters: dict[str, Any],
) -> dict[str, Any]:
    rtt = float(RTT_MS)
    snapshot = pct([s - rtt for s in snapshots], 0.99)
    warm_p99, cold_p99, cold_p50 = pct(warm, 0.99), pct(cold, 0.99), pct(cold, 0.5)
    lookup, answer = counters.get("bare_lookup_p50_ms"), counters.get("bare_subscription_p50_ms")
    bare_pair = None if lookup is None or answer is None else lookup + answer
    cold_budget = None if snapshot is None else round(2 * rtt + max(0.0, snapshot), 3)
    last = max(burst) if burst else None
    return {
        "bench": "signal_latency",
        "rtt_ms": RTT_MS,
        "figures": [
            _figure(
                "warm market: extra over a bare RTDS subscriber, p50",
                pct(warm, 0.5),
                "p99 <= 5 ms",
                None,
                baseline="bare websockets subscriber on the same RTDS path",
            ),
            _figure(
                "warm market: extra over a bare RTDS subscriber, p99",
                warm_p99,
                "<= 5 ms",
                None if warm_p99 is None else warm_p99 <= 5,
                baseline="bare websockets subscriber on the same RTDS path",
            ),
            _figure("cold market, first trade: frame to intent, p50", pct(cold, 0.5), "", None),
            _figure(
                "cold market, first trade: frame to intent, p99",
                cold_p99,
                f"<= 2 x RTT + snapshot = {cold_budget} ms",
                None if cold_p99 is None or cold_budget is None else cold_p99 <= cold_budget,
                snapshot_p99_ms=snapshot,
            ),
            _figure(
                "cold market, first trade: extra over a bare client making the same two calls "
                "in a row (Gamma lookup, then subscription), p50",
                None if bare_pair is None or cold_p50 is None else round(cold_p50 - bare_pair, 3),
                "",
                None,
                baseline="bare httpx lookup p50 + bare websockets subscription answer p50",
            ),
            _figure(
                f"burst of {shape['burst']} trades in as many cold markets: the last intent",
                None if last is None else round(last, 3),
                f"<= 3 x RTT = {3 * rtt:g} ms",
                None if last is None else last <= 3 * rtt,
            ),
        ],
        "samples": {
            "warm": len(warm),
            "cold": len(cold),
            "burst_intents": f"{burst_intents}/{shape['burst']}",
            "bare_frames": len(timings.bare),
        },
        # A decision is journaled durably (one commit) before its intent is published.
        "context": counters,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run, print and return the figures."""
    smoke = "--smoke" in (argv or [])  # make test: a few seconds, figures printed
    result = asyncio.run(_run(SMOKE if smoke else FULL))
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
