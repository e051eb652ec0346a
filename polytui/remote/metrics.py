"""``[metrics] listen``: the engine's health and money as Prometheus text on ``GET /metrics``.

Served by aiohttp on the engine's own event loop, so a scrape reads the engine's snapshot on the
thread that writes it (prometheus-client's own HTTP server would read it from another thread).
Values are read at scrape time from ``EngineAPI.snapshot()``; the counters of signals, intent
transitions and fills come from a bus subscription, which drops (and counts) rather than wait.
Money and share counts are summed as Decimal and become Prometheus floats only as they are
exported (the booleans and counts become floats there too); nothing reads them back.

The endpoint has no authentication: it binds where ``listen`` says (127.0.0.1 in the example)
and shows balances and positions' value to whoever can reach it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections import Counter, OrderedDict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from polytui import events as ev
from polytui.api import EngineAPI
from polytui.bus import Subscription
from polytui.config_services import split_listen
from polytui.model import FeedState
from polytui.remote.errors import RemoteError

log = logging.getLogger(__name__)

SEEN_KEPT = 10_000


class EventCounts:
    """Signals seen, intent transitions by status, fills: counted once each from the bus."""

    def __init__(self) -> None:
        self.signals = 0
        self.intents: Counter[str] = Counter()
        self.fills = 0
        self.fill_shares = Decimal(0)  # summed exact; a float only when scraped
        self._signal_ids: OrderedDict[str, None] = OrderedDict()
        self._intent_status: OrderedDict[str, str] = OrderedDict()

    def count(self, event: ev.Event) -> None:
        """Add one event to the counters."""
        if isinstance(event, ev.SignalUpdated):
            if event.signal.id not in self._signal_ids:
                self._signal_ids[event.signal.id] = None
                self.signals += 1
                if len(self._signal_ids) > SEEN_KEPT:
                    self._signal_ids.popitem(last=False)
        elif isinstance(event, ev.IntentUpdated):
            intent = event.intent
            if self._intent_status.get(intent.id) != intent.status.value:
                self._intent_status[intent.id] = intent.status.value
                self.intents[intent.status.value] += 1
                if len(self._intent_status) > SEEN_KEPT:
                    self._intent_status.popitem(last=False)
        elif isinstance(event, ev.FillReceived):
            self.fills += 1
            self.fill_shares += event.fill.shares


class EngineCollector:
    """A prometheus-client collector that reads the engine when scraped."""

    def __init__(self, engine: EngineAPI, counts: EventCounts, server: MetricsServer) -> None:
        self.engine = engine
        self.counts = counts
        self.server = server

    def collect(self) -> Iterator[Metric]:
        """Every metric, from one snapshot."""
        snap = self.engine.snapshot()
        yield from self._feeds(snap)
        state = snap.state
        for flag, on in (("paused", state.paused), ("halted", state.halted),
                         ("killed", state.killed)):  # fmt: skip
            yield _gauge(f"polytui_engine_{flag}", f"1 while the engine is {flag}", float(on))
        yield _gauge("polytui_open_positions", "Open positions", len(snap.positions))
        yield _gauge("polytui_pending_approvals", "Trade intents waiting", len(snap.intents))
        used = GaugeMetricFamily("polytui_risk_used", "Use of each risk limit", labels=["limit"])
        cap = GaugeMetricFamily("polytui_risk_limit", "Each risk limit", labels=["limit"])
        for limit in snap.risk.limits:
            used.add_metric([limit.name], float(limit.used))
            cap.add_metric([limit.name], float(limit.limit))
        yield used
        yield cap
        exposure = sum((p.cost_usd for p in snap.positions), Decimal(0))
        yield _gauge("polytui_exposure_usd", "Cost of open positions", float(exposure))
        pnl = snap.pnl
        for name, value, text in (
            ("equity_usd", pnl.equity_usd, "Cash plus marked positions"),
            ("cash_usd", pnl.cash_usd, "Cash"),
            ("realized_pnl_usd", pnl.realized_usd, "Realized P&L"),
            ("unrealized_pnl_usd", pnl.unrealized_usd, "Unrealized P&L"),
            ("today_pnl_usd", pnl.today_usd, "P&L since midnight UTC"),
            ("fees_paid_usd", pnl.fees_usd, "Fees paid"),
        ):
            yield _gauge(f"polytui_{name}", text, float(value))
        counts = self.counts
        yield _counter("polytui_signals", "Whale signals seen", counts.signals)
        intents = CounterMetricFamily(
            "polytui_intents", "Trade intent transitions by status", labels=["status"]
        )
        for status, n in sorted(counts.intents.items()):
            intents.add_metric([status], n)
        yield intents
        yield _counter("polytui_fills", "Fills of our orders", counts.fills)
        yield _counter("polytui_fill_shares", "Shares filled", float(counts.fill_shares))
        yield _counter("polytui_metrics_events_dropped", "Bus events the counters missed",
                       self.server.dropped)  # fmt: skip
        bot = self.server.bot
        if bot is not None:
            yield _counter("polytui_telegram_sent", "Bot messages sent", bot.outbox.sent)
            yield _counter("polytui_telegram_dropped", "Bot messages dropped (queue full)",
                           bot.outbox.dropped)  # fmt: skip
            yield _counter("polytui_telegram_failed", "Bot messages that failed", bot.outbox.failed)
            yield _counter("polytui_telegram_refused", "Updates from chats not allowed",
                           bot.refused)  # fmt: skip

    def _feeds(self, snap: ev.Snapshot) -> Iterator[Metric]:
        state = GaugeMetricFamily(
            "polytui_feed_state", "1 for each feed's current state", labels=["feed", "state"]
        )
        up = GaugeMetricFamily("polytui_feed_up", "1 while a feed is connected", labels=["feed"])
        age = GaugeMetricFamily(
            "polytui_feed_last_data_age_seconds", "Seconds since a feed's last data",
            labels=["feed"],
        )  # fmt: skip
        latency = GaugeMetricFamily(
            "polytui_feed_latency_seconds", "A feed's last measured latency", labels=["feed"]
        )
        reconnects = CounterMetricFamily("polytui_feed_reconnects", "Reconnects", labels=["feed"])
        messages = CounterMetricFamily("polytui_feed_messages", "Messages", labels=["feed"])
        rejected = CounterMetricFamily(
            "polytui_feed_rejected", "Messages refused as malformed", labels=["feed"]
        )
        for feed in snap.feeds:
            for value in FeedState:
                state.add_metric([feed.name, value.value], float(feed.state is value))
            up.add_metric([feed.name], float(feed.connected))
            if feed.last_data_age_s is not None:
                age.add_metric([feed.name], feed.last_data_age_s)
            if feed.latency_ms is not None:
                latency.add_metric([feed.name], feed.latency_ms / 1000)
            reconnects.add_metric([feed.name], feed.reconnects)
            messages.add_metric([feed.name], feed.messages)
            rejected.add_metric([feed.name], feed.rejected)
        yield from (state, up, age, latency, reconnects, messages, rejected)


def _gauge(name: str, text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, text, value=value)


def _counter(name: str, text: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, text, value=value)


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class MetricsServer:
    """``GET /metrics`` on ``listen`` for one engine."""

    def __init__(self, engine: EngineAPI, listen: str, *, bot: Any = None) -> None:
        where = split_listen(listen)
        if where is None:
            raise RemoteError(f"[metrics] listen must be HOST:PORT, got {listen!r}")
        self.host, self.port = where
        self.engine = engine
        self.bot = bot
        self.counts = EventCounts()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(EngineCollector(engine, self.counts, self))
        self._sub: Subscription | None = None
        self._task: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self.scrapes = 0

    @property
    def dropped(self) -> int:
        """Events the counting subscription dropped."""
        return self._sub.dropped if self._sub is not None else 0

    async def start(self) -> None:
        """Subscribe and bind; a port that cannot be bound raises ``RemoteError``."""
        self._sub = self.engine.subscribe(maxsize=10_000)
        self._task = asyncio.create_task(self._count(self._sub), name="metrics:count")
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self.host, self.port).start()
        except OSError as exc:
            await self.stop()
            raise RemoteError(
                f"[metrics] listen {self.host}:{self.port}: cannot bind ({exc.strerror})"
            ) from None
        if not is_loopback(self.host):
            log.warning(
                "metrics listen on %s: the endpoint has no authentication; anyone who can reach "
                "the port reads balances and positions",
                self.host,
                extra={"event": "metrics_exposed"},
            )
        log.info("metrics on http://%s:%d/metrics", self.host, self.port,
                 extra={"event": "metrics_started"})  # fmt: skip

    async def _count(self, sub: Subscription) -> None:
        while not sub.closed:
            for event in await sub.wait(timeout=1.0):
                self.counts.count(event)

    async def _metrics(self, request: web.Request) -> web.Response:
        self.scrapes += 1
        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def stop(self) -> None:
        """Close the port and the subscription."""
        if self._sub is not None:
            self._sub.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
