"""Chaos: a seeded simulator misbehaves on demand while the real engine and feeds run against it.

Faults, chosen by a seeded RNG, one per cycle: every connection dropped; silence with the
sockets open (longer than the watchdogs); garbage frames on every socket; a chain reorg (the
newest log re-sent as ``removed``). After each fault the test checks what a trader relies on:

- the client never holds more than one connection per feed (the simulator counts them);
- every silence is detected by every feed within its watchdog limit;
- after a reconnect every subscribed book equals the simulator's book for that client;
- garbage is counted as rejected and does not take the WebSocket feeds down;
- no watched-whale trade is missed: the chain feed (gap backfill after each reconnect) and the
  merged stream both saw every trade the simulator put on chain, reorged ones excepted.

Sizes: 1,000 cycles under ``make reliability``; 30 in ``make test``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from polytui import events as ev
from polytui.config import LoadedConfig, apply_overrides
from polytui.engine import Engine
from polytui.settings import Settings
from polytui.sim.server import SimServer
from polytui.sim.worlds import World, build_world, builtin_spec
from polytui.wiring import build_engine
from tests.reliability.common import size, summary

SEED = 20261125
CYCLES = size(1_000, 30)
SPEED = 20.0  # sim seconds per wall second: trades every ~0.1 s, blocks every 0.1 s
WATCHDOG_S = 1.0  # data-silence limit of every feed in this test
SILENCE_S = WATCHDOG_S + 0.7  # how long the simulator goes quiet
SLACK_S = 0.5  # scheduling allowance on a busy 2-core machine
FAULTS = ["drop"] * 7 + ["silence"] * 5 + ["garbage"] * 4 + ["reorg"] * 4
WS_FEEDS = ("clob", "activity", "chain", "mempool")
# The simulator endpoint each feed connects to: the chain and the mempool sources each hold one
# connection to the node.
SIM_KIND = {"clob": "clob", "activity": "rtds", "chain": "rpc", "mempool": "rpc"}
PER_KIND = Counter(SIM_KIND.values())

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(60 + CYCLES * 3)]


def chaos_world(horizon_s: float) -> World:
    """The simulator's ``chaos`` world (short markets, a flood of trades), trading for
    ``horizon_s`` sim seconds."""
    return build_world(builtin_spec("chaos"), seed=SEED, hours=horizon_s / 3600)


def chaos_settings(sim: SimServer, data_dir: Path) -> Settings:
    s = apply_overrides(Settings(), sim.settings_overrides())
    s.storage.data_dir = data_dir
    s.approval.policy = "observe"
    f = s.feeds
    f.backoff_initial_s = 0.05
    f.backoff_cap_s = 0.3
    f.clob_silence_s = f.rtds_silence_s = f.chain_silence_s = WATCHDOG_S
    f.clob_ping_s = f.rtds_ping_s = 0.5
    # RTDS slows its retries after connections that bring no data (tested in
    # tests/feeds/test_activity_stream.py); back-to-back silences would otherwise push its next
    # try past every wait here. Capped at the watchdog, the quiet path still runs.
    f.rtds_quiet_retry_max_s = WATCHDOG_S
    # The chain's gap backfill, not the data-api poller, must cover what a drop loses.
    f.dataapi_poll_enabled = False
    return s


async def until(
    check: Callable[[], bool],
    timeout: float,
    what: str,
    step: float = 0.01,
    describe: Callable[[], str] = str,
) -> float:
    """Wait for ``check``; returns the seconds it took; fails the test with ``what``."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}\n{describe()}")
        await asyncio.sleep(step)
    return time.monotonic() - start


class Chaos:
    def __init__(self, sim: SimServer, engine: Engine) -> None:
        self.sim = sim
        self.engine = engine
        self.feeds = {name: engine.feeds[name] for name in WS_FEEDS}
        self.sub = engine.subscribe(1_000_000)
        self.seen: set[tuple[str, str]] = set()
        self.retracted = 0
        self.reorged: set[str] = set()
        self.faults: Counter[str] = Counter()
        self.silence_delays: list[float] = []
        self.books_compared = 0
        self.garbage_sent = 0
        self.max_client_connections = 0
        self.watched = {w.lower() for w in sim.whale_wallets}

    def collect(self) -> None:
        for event in self.sub.drain():
            if isinstance(event, ev.WhaleTradeSeen):
                self.seen.add((event.trade.tx_hash.lower(), event.trade.wallet.lower()))

    def connected(self) -> bool:
        statuses = [f.status() for f in self.feeds.values()]
        self.max_client_connections = max(
            [self.max_client_connections, *(s.connections for s in statuses)]
        )
        return all(s.connected for s in statuses) and all(
            self.sim.connections[k] == n for k, n in PER_KIND.items()
        )

    def clob_client(self) -> Any:
        clients = [c for c in self.sim.hub.clients if c.kind == "clob"]
        assert len(clients) == 1, f"{len(clients)} CLOB connections at the simulator"
        return clients[0]

    def books_match(self) -> bool:
        clob = self.feeds["clob"]
        client = self.clob_client()
        for token in clob.tokens:
            book = clob.books.get(token)
            sent = client.sent_books.get(token)
            if book is None or book.stale or sent is None:
                return False
            want = (
                {Decimal(p): Decimal(s) for p, s in sent[0].items() if Decimal(s) > 0},
                {Decimal(p): Decimal(s) for p, s in sent[1].items() if Decimal(s) > 0},
            )
            if (book._bids, book._asks) != want:
                return False
        return True

    def describe(self) -> str:
        lines = [f"{n}: {f.status()}" for n, f in self.feeds.items()]
        chain = self.feeds["chain"]
        provider = chain._w3.provider if chain._w3 is not None else None
        ws = getattr(provider, "_ws", None)
        lines.append(
            f"chain internals: w3={chain._w3 is not None} ws_state={getattr(ws, 'state', None)} "
            f"listener={getattr(provider, '_message_listener_task', None)}"
        )
        for task in asyncio.all_tasks():
            if task.get_name() == "feed:chain":
                frames = task.get_stack(limit=12)
                where = " <- ".join(f"{f.f_code.co_name}:{f.f_lineno}" for f in frames)
                lines.append(f"chain task: {where}")
        kinds = [c.kind for c in self.sim.hub.clients]
        return "\n".join([*lines, f"simulator connections {self.sim.connections} {kinds}"])

    async def ready(self) -> None:
        try:
            await until(self.connected, 15, "every feed connected, one connection each")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.describe()}") from None
        await until(self.books_match, 5, "books equal to the simulator's after (re)connect")

    # --- faults ---------------------------------------------------------------------------------

    async def drop(self) -> None:
        before = {n: f.status() for n, f in self.feeds.items()}
        assert await self.sim.drop_all() >= 1
        # Every feed that was up must notice (one may have been between connections already).
        await until(
            lambda: all(
                f.status().reconnects > before[n].reconnects
                for n, f in self.feeds.items()
                if before[n].connected
            ),
            10,
            "every feed to notice the drop",
            describe=self.describe,
        )
        await self.ready()
        self.books_compared += len(self.feeds["clob"].tokens)

    async def silence(self) -> None:
        start = time.monotonic()
        self.sim.go_silent(SILENCE_S)
        detected: dict[str, float] = {}
        before = {n: f.status().reconnects for n, f in self.feeds.items()}
        while len(detected) < len(self.feeds):
            for name, feed in self.feeds.items():
                status = feed.status()
                # Not connected, or already reconnected (a reconnect can take milliseconds).
                if name not in detected and (
                    not status.connected or status.reconnects > before[name]
                ):
                    detected[name] = time.monotonic() - start
            if time.monotonic() - start > SILENCE_S + 2:
                missing = set(self.feeds) - set(detected)
                raise AssertionError(f"silence not detected by {missing}\n{self.describe()}")
            await asyncio.sleep(0.01)
        late = {n: round(d, 3) for n, d in detected.items() if d > WATCHDOG_S + SLACK_S}
        assert not late, f"silence found later than the {WATCHDOG_S:g} s watchdog: {late}"
        self.silence_delays.extend(detected.values())
        await asyncio.sleep(max(0.0, SILENCE_S - (time.monotonic() - start)))
        await self.ready()

    async def garbage(self) -> None:
        clob, activity = self.feeds["clob"], self.feeds["activity"]
        # Not within reach of a watchdog: every feed had data just now.
        await until(
            lambda: all((f.status().last_data_age_s or 9) < 0.3 for f in self.feeds.values()),
            5,
            "fresh data on every feed",
        )
        before = (clob.status(), activity.status())
        await self.sim.send_garbage(5)
        self.garbage_sent += 5 * len(self.sim.hub.clients)
        # Of the simulator's five junk frames the CLOB channel must reject four ("{}" is a
        # keepalive) and RTDS two (the others carry no RTDS topic and are not for it).
        await until(
            lambda: (
                clob.status().rejected >= before[0].rejected + 4
                and activity.status().rejected >= before[1].rejected + 2
            ),
            5,
            "garbage to be counted as rejected",
            describe=self.describe,
        )
        assert clob.status().reconnects == before[0].reconnects, "garbage dropped the CLOB feed"
        assert activity.status().reconnects == before[1].reconnects, "garbage dropped RTDS"
        await self.ready()

    async def reorg(self) -> None:
        if not self.sim.chain.logs:
            return
        entry = self.sim.chain.logs[-1]
        chain = self.feeds["chain"]
        retracted = chain.retracted
        processed = (entry["transactionHash"].lower(), int(entry["logIndex"], 16)) in (
            chain._processed
        )
        assert await self.sim.reorg() == 1
        self.reorged.add(entry["transactionHash"].lower())
        if processed:
            await until(lambda: chain.retracted > retracted, 5, "the reorged log to be retracted")
        await self.ready()


async def test_chaos_cycles_keep_one_connection_books_and_every_whale_trade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Trades for as long as the run can last (about 1.5 wall seconds a cycle at most).
    world = chaos_world(SPEED * (CYCLES * 2.0 + 60))
    sim = SimServer("chaos", seed=SEED, speed=SPEED, world=world)
    async with sim:
        for key, value in sim.environment().items():
            monkeypatch.setenv(key, value)
        engine = build_engine(LoadedConfig(chaos_settings(sim, tmp_path), None))
        chaos = Chaos(sim, engine)
        task = asyncio.create_task(engine.run())
        chain = chaos.feeds["chain"]
        await until(
            lambda: (
                chaos.connected() and chain.last_block is not None and chaos.feeds["clob"].tokens
            ),
            30,
            "the engine to connect, see a chain log and subscribe a book",
        )
        await chaos.ready()
        first = sim.chain.sent  # every chain log from here on must reach the client
        rng = random.Random(SEED)
        started = time.monotonic()
        expected: set[tuple[str, str]] = set()
        failure: BaseException | None = None
        try:
            for _ in range(CYCLES):
                fault = rng.choice(FAULTS)
                chaos.faults[fault] += 1
                await getattr(chaos, fault)()
                chaos.collect()
                await asyncio.sleep(rng.uniform(0.0, 0.15))
            last = sim.chain.sent
            expected = {
                (t.tx_hash.lower(), t.wallet)
                for t in sim.scenario.trades[first:last]
                if t.wallet in chaos.watched and t.tx_hash.lower() not in chaos.reorged
            }

            def complete() -> bool:
                chaos.collect()
                txs = {k[0] for k in chain._processed}
                return all(tx in txs for tx, _ in expected) and expected <= chaos.seen

            await until(complete, 20, "every whale trade to arrive", step=0.1)
        except AssertionError as exc:
            failure = exc
        elapsed = time.monotonic() - started
        chain_txs = {k[0] for k in chain._processed}
        await engine.stop()
        await asyncio.wait_for(task, 20)
        statuses = {n: f.status() for n, f in chaos.feeds.items()}
        missed = expected - chaos.seen
        summary(
            "chaos",
            cycles=sum(chaos.faults.values()),
            faults=",".join(f"{k}:{v}" for k, v in sorted(chaos.faults.items())),
            seconds=round(elapsed, 1),
            reconnects=",".join(f"{n}:{s.reconnects}" for n, s in statuses.items()),
            max_connections=",".join(f"{k}:{v}" for k, v in sim.max_connections.items()),
            silences_detected=len(chaos.silence_delays),
            silence_detect_max_s=round(max(chaos.silence_delays, default=0), 3),
            watchdog_s=WATCHDOG_S,
            books_compared=chaos.books_compared,
            garbage_sent=chaos.garbage_sent,
            rejected=",".join(f"{n}:{s.rejected}" for n, s in statuses.items()),
            reorged=len(chaos.reorged),
            retracted=chain.retracted,
            whale_trades=len(expected),
            missed=len(missed),
            missed_on_chain=len({tx for tx, _ in expected} - chain_txs),
            backfilled=chain.backfilled,
        )
        if failure is not None:
            raise failure
        assert all(sim.max_connections[k] <= n for k, n in PER_KIND.items()), sim.max_connections
        assert chaos.max_client_connections <= 1
        assert not missed, f"{len(missed)} whale trades missed, e.g. {sorted(missed)[:3]}"
        assert expected <= {(tx, w) for tx, w in expected if tx in chain_txs}, "chain gap"
        assert chain.backfilled > 0, "no gap was ever backfilled: the test proved nothing"


def test_simulated_logs_never_name_a_block_beyond_the_head() -> None:
    # Logs used to run ahead of the head block, so a reconnect's backfill (head < cursor) was
    # skipped and chain trades carried block times in the future.
    from polytui.sim.server import BLOCK_S, CHAIN_DELAY_S
    from polytui.sim.world import SimWorld
    from polytui.sim.worlds.legacy import scenario_of

    scenario = scenario_of(chaos_world(3_600))
    trades = scenario.trades
    first = SimWorld(scenario, SPEED).first_block()  # the head at sim time 0
    assert trades[0].t >= BLOCK_S, "a first trade after the first block tests the head's origin"
    assert all(t.block <= first + int((t.t + CHAIN_DELAY_S) // BLOCK_S) for t in trades)
    assert all(t.block == first + int(t.t // BLOCK_S) for t in trades)


async def test_garbage_on_the_rpc_socket_never_leaves_a_second_connection() -> None:
    # web3's listener dies on a non-JSON frame and its disconnect then raised before closing
    # the socket, so each garbage burst left one more connection open at the node.
    from polytui.feeds.chain import ChainFeed

    async with SimServer("chaos", seed=SEED, speed=SPEED, world=chaos_world(600)) as sim:
        feed = ChainFeed(
            sim.urls["rpc_ws_url"],
            addresses=[sim.exchange_address],
            wallets=set(sim.whale_wallets),
            on_trade=lambda t: None,
            silence_s=WATCHDOG_S,
            backoff_initial_s=0.05,
            backoff_cap_s=0.2,
        )
        task = asyncio.create_task(feed.run())
        for _ in range(5):
            await until(lambda: feed.status().connected and sim.connections["rpc"] == 1, 10, "up")
            before = feed.status().reconnects
            await sim.send_garbage(5)
            await until(lambda b=before: feed.status().reconnects > b, 10, "a reconnect")  # type: ignore[misc]
        await until(lambda: feed.status().connected, 10, "up")
        await asyncio.sleep(0.3)
        counts = dict(sim.connections), dict(sim.max_connections)
        await feed.stop()
        task.cancel()
    summary(
        "chaos.rpc_garbage", bursts=5, reconnects=feed.reconnects, max_connections=counts[1]["rpc"]
    )
    assert counts[0]["rpc"] == 1 and counts[1]["rpc"] == 1, counts


async def test_a_long_outage_never_ends_the_reconnect_loops() -> None:
    # 2**attempt overflowed the float after ~1,000 failed attempts and ended run() for good; the
    # chain feed never even reset its count (its session only ends by an exception).
    from polytui.feeds.chain import ChainFeed
    from polytui.feeds.connection import WsFeed

    ws = WsFeed("x", "ws://127.0.0.1:9/", on_frame=lambda f: None, backoff_cap_s=30)
    ws._attempt = 5_000
    assert 0 <= ws._backoff() <= 30
    chain = ChainFeed(
        "ws://127.0.0.1:9/",
        addresses=[],
        wallets=set(),
        on_trade=lambda t: None,
        backoff_initial_s=1e-6,
        backoff_cap_s=1e-5,
    )
    task = asyncio.create_task(chain.run())
    await until(lambda: chain.reconnects > 1_100 or task.done(), 60, "1,100 failed attempts")
    assert not task.done(), task.exception()
    await chain.stop()
    task.cancel()


async def test_an_unanswered_block_lookup_reconnects_and_loses_no_fill() -> None:
    # A log without blockTimestamp needs its block's time. When the node stopped answering, the
    # lookup waited web3's 10 s with the feed still "live", then the log was counted as bad and
    # dropped: the next block's fill moved the cursor past it, so no backfill read it again.
    from polytui.feeds.chain import ChainFeed

    async with SimServer("chaos", seed=SEED, speed=SPEED, world=chaos_world(600)) as sim:
        got: list[Any] = []
        feed = ChainFeed(
            sim.urls["rpc_ws_url"],
            addresses=[sim.exchange_address],
            wallets=set(sim.whale_wallets),
            on_trade=got.append,
            silence_s=WATCHDOG_S,
            backoff_initial_s=0.05,
            backoff_cap_s=0.2,
        )
        task = asyncio.create_task(feed.run())
        await until(lambda: feed.status().connected and feed.last_block is not None, 10, "up")
        first = sim.chain.sent
        sim.leave_block_lookups_unanswered(1)
        await until(lambda: feed.status().reconnects >= 1, 5, "a reconnect within the watchdog")
        await until(lambda: sim.chain.sent >= first + 20, 10, "more fills on chain")
        last = sim.chain.sent
        expected = {
            (t.tx_hash.lower(), t.wallet)
            for t in sim.scenario.trades[first:last]
            if t.wallet in feed.wallets
        }
        await until(
            lambda: expected <= {(t.tx_hash.lower(), t.wallet) for t in got}, 10, "every fill"
        )
        await feed.stop()
        task.cancel()
    assert feed.rejected == 0
