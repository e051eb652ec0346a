"""Run the real engine (parsers, strategy, RiskGuard, paper broker, journal) against a world on
a virtual clock, and collect what it did for the report.

Frames reach the same parsers the live feeds use (``ActivityFeed.handle_frame``,
``ClobMarketFeed.handle_frame``), Gamma lookups go through the real HTTP client to a transport
that answers from the world, and every timer in the engine runs on :mod:`.vclock`.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import tempfile
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import orjson

from polytui.backtest.vclock import VirtualClock, VirtualTimeLoop, run_virtual
from polytui.backtest.world import EPOCH_UNIX, ScenarioWorld
from polytui.capture import policy_in_file
from polytui.engine.ports import Portfolio
from polytui.settings import Settings

if TYPE_CHECKING:
    from polytui.wiring import DrivenFeeds

TICK_S = 1.0  # the engine's tick (TTL expiry, marks, exits): no screen to refresh 4x a second
HELD_EVERY_S = 60.0  # books of tokens we hold refresh this often (marks, exits, equity)
SAMPLE_EVERY_S = 300.0  # equity samples for the curve
SUBSCRIBE_DELAY_S = 0.1  # a subscribed token's first book arrives this much later


@dataclass(slots=True)
class RunRecord:
    """What the engine did, read from its journal and portfolio at the end."""

    policy: str
    latency_s: float
    start_usd: Decimal
    cash_usd: Decimal = Decimal(0)
    open_basis_usd: Decimal = Decimal(0)
    realized_usd: Decimal = Decimal(0)
    fees_usd: Decimal = Decimal(0)
    signals: list[dict[str, Any]] = field(default_factory=list)
    intents: dict[str, str] = field(default_factory=dict)  # intent id → wallet
    intent_source: dict[str, str] = field(default_factory=dict)  # intent id → whale source
    intent_edge: dict[str, str] = field(default_factory=dict)  # intent id → net edge it sized on
    intent_per_usd: dict[str, str] = field(default_factory=dict)  # … and per dollar
    fills: list[dict[str, Any]] = field(default_factory=list)
    scores: dict[str, Decimal] = field(default_factory=dict)  # estimated copy edge per share
    resolved: dict[str, int] = field(default_factory=dict)  # resolved buys behind each score
    estimates: dict[str, dict[str, str]] = field(default_factory=dict)  # the terms of a score
    marked: list[tuple[float, Decimal]] = field(default_factory=list)
    frames: int = 0
    rejected: int = 0
    virtual_s: float = 0.0
    # None: advisors off; else what the recorded answers did (reviews, shrunk, rejected).
    advisors: dict[str, int] | None = None
    profiles: int = 0  # watched wallets profiled from the world's served past before the start


class WorldTransport(httpx.AsyncBaseTransport):
    """Gamma ``/markets`` and CLOB ``POST /books`` answered from the world at the virtual now."""

    def __init__(self, world: ScenarioWorld, clock: VirtualClock) -> None:
        self.world = world
        self.clock = clock
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        t = self.clock.monotonic()
        parts = urlsplit(str(request.url))
        endpoint = parts.path.rstrip("/").rsplit("/", 1)[-1]
        query = parse_qsl(parts.query)
        if request.method == "GET" and endpoint == "markets":
            tokens = {v for k, v in query if k == "clob_token_ids"}
            conditions = {c for k, v in query if k == "condition_ids" for c in v.split(",") if c}
            body = orjson.dumps(self.world.gamma(tokens, conditions, t))
            return httpx.Response(200, content=body)
        if request.method == "POST" and endpoint == "books":
            wanted = [str(x.get("token_id")) for x in orjson.loads(await request.aread())]
            books = [orjson.loads(self.world.book_frame(tok, t))[0] for tok in wanted]
            return httpx.Response(200, content=orjson.dumps(books))
        return httpx.Response(404, json={"error": "not served by the backtest world"})


class _MarketChannel:
    """Stands in for the engine's market-channel client: subscriptions get their book soon."""

    def __init__(self, clob: Any, driver: _Driver) -> None:
        self._clob = clob
        self._driver = driver

    def subscribe(self, tokens: list[str]) -> None:
        new = [t for t in tokens if t not in self._clob.tokens]
        self._clob.subscribe(tokens)
        if new:
            self._driver.subscribed(new)

    def unsubscribe(self, tokens: list[str]) -> None:
        self._clob.unsubscribe(tokens)


class _Driver:
    """Sends the world's frames to the real parsers at their virtual times."""

    def __init__(
        self,
        world: ScenarioWorld,
        portfolio: Portfolio,
        settings: Settings,
        driven: DrivenFeeds,
        clock: VirtualClock,
        mempool: Any = None,
    ) -> None:
        self.world = world
        self.portfolio = portfolio
        self.settings = settings
        self.clob = driven.clob
        self.activity = driven.activity
        self.stream = driven.stream
        self.clock = clock
        # With the mempool source: each fill's pending transaction (0.65 s) to its parser and
        # its OrderFilled log (2.2 s, decoded as the chain feed does) to the stream.
        self.mempool = mempool
        self.watched = {w.lower() for w in settings.whales.wallets}
        self.loop = asyncio.get_running_loop()
        self.resolved: set[str] = set()
        self.frames = 0
        self.marked: list[tuple[float, Decimal]] = []
        self._market_of = {tok: m.condition_id for m in world.markets for tok in m.tokens}

    def _send_book(self, token: str, t: float) -> None:
        if token not in self.clob.tokens or self._market_of.get(token) in self.resolved:
            return
        self.clob.handle_frame(self.world.book_frame(token, t))
        self.frames += 1

    def subscribed(self, tokens: list[str]) -> None:
        def first_books() -> None:
            now = self.loop.time()
            for token in tokens:
                self._send_book(token, now)

        self.loop.call_later(SUBSCRIBE_DELAY_S, first_books)

    async def _until(self, t: float) -> None:
        wait = t - self.loop.time()
        if wait > 0:
            await asyncio.sleep(wait)

    def _refresh_held(self, t: float) -> None:
        for token in sorted(self.portfolio.tokens()):
            self._send_book(token, t)

    def _send_market(self, condition_id: str, t: float) -> None:
        for token in self.world.markets_by_condition[condition_id].tokens:
            self._send_book(token, t)

    def _send_log(self, trade: Any) -> None:
        """The fill's log through the chain feed's decoder into the stream (watched only)."""
        from polytui.feeds.chain import decode_order_filled

        if trade.wallet not in self.watched:
            return
        entry = self.world.order_filled(trade)
        at = datetime.fromtimestamp(int(entry["blockTimestamp"], 16), tz=UTC)
        exchanges = {self.world.exchange}
        self.stream.offer(decode_order_filled(entry, exchanges, at, self.clock.now()))
        self.frames += 1

    async def run(self) -> None:
        """Deliver every frame in time order: a whale trade's market books just before its
        RTDS frame and again when our order reaches the book; the books we hold once a minute;
        a resolution to the market channel's subscribers."""
        world = self.world
        end = world.horizon_s
        latency = self.settings.paper.latency_ms / 1000
        events: list[tuple[float, int, str, Any]] = []
        for trade in world.trades:
            at = trade.t + world.rtds_delay_s
            if at < end:
                events.append((at, 0, "rtds", trade))
                events.append((at + latency + 0.01, 1, "book", trade.condition_id))
            if self.mempool is not None and trade.t + world.pending_delay_s < end:
                seen = trade.t + world.pending_delay_s
                events.append((seen, 0, "pending", trade))
                events.append((seen + latency + 0.01, 1, "book", trade.condition_id))
                events.append((trade.t + world.chain_delay_s, 0, "log", trade))
        for market in world.markets:
            if market.end_s < end:
                events.append((market.end_s, 2, "resolve", market))
        events.sort(key=lambda e: (e[0], e[1]))
        next_held = HELD_EVERY_S
        next_sample = 0.0
        for at, _, kind, payload in [*events, (end, 3, "end", None)]:
            while min(next_held, next_sample) <= at:
                if next_sample <= next_held:
                    await self._until(next_sample)
                    self.marked.append((next_sample, self.portfolio.equity()))
                    next_sample += SAMPLE_EVERY_S
                else:
                    await self._until(next_held)
                    self._refresh_held(next_held)
                    next_held += HELD_EVERY_S
            await self._until(at)
            if kind == "rtds":
                self._send_market(payload.condition_id, at)
                if self.activity is not None:
                    self.activity.handle_frame(world.rtds_frame(payload, at))
                    self.frames += 1
            elif kind == "pending":
                self._send_market(payload.condition_id, at)
                self.mempool.handle_pending(world.pending_tx(payload))
                self.frames += 1
            elif kind == "log":
                self._send_log(payload)
            elif kind == "book":
                self._send_market(payload, at)
            elif kind == "resolve":
                self.resolved.add(payload.condition_id)
                # The market channel announces a resolution only to subscribers of its tokens.
                if set(payload.tokens) & self.clob.tokens:
                    self.clob.handle_frame(world.resolved_frame(payload.condition_id, at))
                    self.frames += 1
            await asyncio.sleep(0)


def prepare_settings(loaded: Any, world: ScenarioWorld, data_dir: Path) -> tuple[Any, str]:
    """The backtest's settings: the config's whales, strategy, risk and policy (``auto`` unless
    the file sets one), with no network feeds and a private data dir. Returns (settings, note
    on where the policy came from)."""
    settings = copy.deepcopy(loaded.settings)
    if loaded.path is None or not settings.whales.wallets:
        settings.whales.wallets = [w for w, _ in world.watched()]
        settings.whales.aliases = {**dict(world.watched()), **settings.whales.aliases}
    if loaded.path is not None and policy_in_file(loaded.path):
        note = f"{settings.approval.policy} (from {loaded.path})"
    else:
        settings.approval.policy = "auto"
        note = "auto (the backtest default)"
    settings.storage.data_dir = data_dir
    settings.feeds.chain_enabled = False
    settings.feeds.dataapi_poll_enabled = False
    settings.feeds.activity_enabled = True
    settings.feeds.catch_up_s = 0.0
    # A backtest never calls a model: advisors are off (README, "Advisors").
    settings.advisors.enabled = False
    return settings, note


async def _run(
    world: ScenarioWorld,
    loaded: Any,
    data_dir: Path,
    advisor_clients: dict[str, Any] | None,
    profiles: int = 0,
    mempool: bool = False,
) -> RunRecord:
    from polytui.config import LoadedConfig
    from polytui.engine import Engine
    from polytui.wiring import build_parts

    loop = asyncio.get_running_loop()
    assert isinstance(loop, VirtualTimeLoop)
    clock = VirtualClock(loop, datetime.fromtimestamp(EPOCH_UNIX, tz=UTC))
    settings, policy = prepare_settings(loaded, world, data_dir)
    # Advisors only with a recorded answer set: their answers come from it, never from a model.
    settings.advisors.enabled = bool(advisor_clients)
    saved_env = os.environ.pop(settings.feeds.polygon_ws_env, None)
    try:
        parts, driven = build_parts(
            LoadedConfig(settings, loaded.path),
            clock=clock,
            transport=WorldTransport(world, clock),
            role="backtest",
            advisor_clients=advisor_clients,
            scratch=True,  # a temporary journal: no fsync per commit
            driven=True,  # the driver feeds the parsers itself: no socket feed runs
        )
    finally:
        if saved_env is not None:
            os.environ[settings.feeds.polygon_ws_env] = saved_env
    clob, activity = driven.clob, driven.activity
    source = _mempool(world, settings, driven.stream, clock) if mempool else None
    driver = _Driver(world, parts.portfolio, settings, driven, clock, source)
    engine = Engine(replace(parts, channel=_MarketChannel(clob, driver), tick_s=TICK_S))
    record = RunRecord(
        policy=policy,
        latency_s=settings.paper.latency_ms / 1000,
        start_usd=settings.paper.starting_balance_usd,
        profiles=profiles,
    )
    task = asyncio.create_task(engine.run())
    await driver.run()
    for _ in range(1000):  # let queued trades, approvals and fills finish (virtual seconds)
        if engine.idle():
            break
        await asyncio.sleep(0.1)
    record.marked = [*driver.marked, (loop.time(), engine.portfolio.equity())]
    await engine.stop()
    await asyncio.gather(task, return_exceptions=True)
    _collect(engine, record)
    record.frames = driver.frames
    record.rejected = clob.status().rejected + (
        activity.status().rejected if activity is not None else 0
    )
    record.virtual_s = loop.time()
    engine.journal.close()
    return record


def _mempool(world: ScenarioWorld, settings: Settings, stream: Any, clock: VirtualClock) -> Any:
    """The mempool source's parser, fed by the driver (it never connects)."""
    from polytui.feeds.mempool import MempoolFeed

    whales = settings.whales
    return MempoolFeed(
        "ws://backtest.invalid",
        addresses=[world.exchange],
        wallets=set(whales.wallets),
        discovery_min_usd=whales.min_trade_usd if whales.discovery else None,
        on_trade=stream.offer,
        on_retract=stream.withdraw,
        monotonic=clock.monotonic,
        wall_clock=clock.now,
    )


def _collect(engine: Any, record: RunRecord) -> None:
    journal = engine.journal
    source_of: dict[str, str] = {}
    for event in journal.events(kinds=["signal"]):
        p = event.payload
        source_of[str(event.ref)] = str(p.get("source", ""))
        record.signals.append(
            {
                "wallet": str(p.get("wallet", "")).lower(),
                "decision": p.get("decision"),
                "source": str(p.get("source", "")),
                "latency_ms": int(p.get("latency_ms") or 0),
                "net_edge": p.get("net_edge"),
                "edge_per_usd": p.get("edge_per_usd"),
                "refused_for_room": str(p.get("refused_for_room") or ""),
            }
        )
    for event in journal.events(kinds=["intent"]):
        p = event.payload
        record.intents.setdefault(str(p["id"]), str(p.get("wallet", "")).lower())
        record.intent_edge.setdefault(str(p["id"]), str(p.get("net_edge", "0")))
        cost = Decimal(p.get("sized_price", "0")) + Decimal(p.get("fee_per_share", "0"))
        per_usd = Decimal(p.get("net_edge", "0")) / cost if cost > 0 else Decimal(0)
        record.intent_per_usd.setdefault(str(p["id"]), str(per_usd.quantize(Decimal("0.0001"))))
        record.intent_source.setdefault(str(p["id"]), source_of.get(str(p.get("signal_id")), ""))
    for event in journal.events(kinds=["fill"]):
        record.fills.append(dict(event.payload))
    portfolio = engine.portfolio
    record.cash_usd = portfolio.cash
    record.open_basis_usd = portfolio.cost_basis()
    record.realized_usd = portfolio.realized
    record.fees_usd = portfolio.fees_paid
    if engine.advisors is not None:
        advice = [e.payload for e in journal.events(kinds=["advice"])]
        record.advisors = {
            "reviews": journal.count("advisor_consensus"),
            "moved": sum(1 for a in advice if a["estimate_after"] != a["estimate_before"]),
            "shrunk": sum(1 for a in advice if a["shares_after"] != a["shares_before"]),
            "rejected": sum(
                1 for e in journal.events(kinds=["decision"]) if e.payload["action"] == "advisors"
            ),
        }
    scorer = engine.strategy.scorer
    for wallet in {s["wallet"] for s in record.signals}:
        record.scores[wallet] = scorer.copy_edge(wallet)
        rec = scorer.record(wallet)
        record.resolved[wallet] = rec.resolved
        edge, taxes = scorer.whale_edge(wallet), rec.all_taxes()
        record.estimates[wallet] = {
            "whale_edge": str(edge.mean),
            "whale_edge_se": str(edge.se),
            "markets": str(edge.units),
            "latency_tax": str(scorer.tax(wallet, "").mean),
            "fee": str(taxes.mean_fee),
        }


def run_world(
    world: ScenarioWorld,
    loaded: Any,
    advisor_clients: dict[str, Any] | None = None,
    *,
    history: bool = True,
    mempool: bool = False,
) -> RunRecord:
    """One backtest of ``world`` under ``loaded``'s settings, on a fresh virtual loop
    (``advisor_clients``: recorded answers by advisor name; advisors are off without them).
    With ``history`` the watched wallets are first profiled from the world's served past, so
    the engine starts from those profiles, as the console does after ``polytui whales rank``.
    With ``mempool`` each fill's pending transaction reaches the mempool source at 0.65 s and
    its log confirms it at 2.2 s, beside RTDS at 1.9 s (a node with the console's sources)."""
    from polytui.backtest.past import profile_past

    quiet = logging.getLogger("polytui")
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # per-fill notices would flood a 24 h run
    try:
        with tempfile.TemporaryDirectory(prefix="polytui-backtest-") as data:
            past = world.with_past() if history else None
            profiles = 0
            if past is not None:
                settings, _ = prepare_settings(loaded, world, Path(data))
                profiles = profile_past(settings, past, world.hours, Path(data))
            main = _run(world, loaded, Path(data), advisor_clients, profiles, mempool)
            return run_virtual(main, VirtualTimeLoop())
    finally:
        quiet.setLevel(level)
