"""Assembles a real engine from settings: journal, feeds, strategy, broker, portfolio.

Kept apart from ``engine.py`` so the engine's logic reads without construction noise, and so
tests can assemble an engine from their own parts.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from polytui import redaction
from polytui.bus import EventBus
from polytui.clock import Clock, SystemClock

log = logging.getLogger(__name__)


class EngineBuildError(RuntimeError):
    """The engine cannot be assembled from this configuration (message says why)."""


Tap = Callable[..., None]

# A fill's timestamp is seconds, and the data-api lists it some seconds after the match; the
# data-api floor is moved back this far (duplicates are dropped against the journal's signals).
DATAAPI_REWIND_S = 60.0


@dataclass(frozen=True, slots=True)
class CatchUp:
    """Where each whale source resumes after a restart, and the fills already handled."""

    since: datetime  # when the previous run was last alive (bounded by the window)
    chain_block: int
    chain_floor: datetime
    dataapi_floor: datetime
    seen: list[object]


def catch_up_plan(journal: Any, catch_up_s: float, now: datetime) -> CatchUp | None:
    """The catch-up after a restart from the cursor the engine saved, or None (first start,
    or ``catch_up_s = 0``). Nothing older than ``now - catch_up_s`` is replayed."""
    from polytui.engine import CURSOR_KEY
    from polytui.model import Side

    saved = journal.get_state(CURSOR_KEY) if catch_up_s > 0 else None
    if not isinstance(saved, dict):
        return None
    window = now - timedelta(seconds=catch_up_s)
    try:
        alive = datetime.fromisoformat(str(saved["at"]))
    except (KeyError, ValueError):
        alive = window
    since = max(alive, window)
    try:  # what the previous run covered from: nothing before it is caught up now
        base = max(window, datetime.fromisoformat(str(saved["from"])))
    except (KeyError, ValueError):
        base = window
    block = saved.get("chain_block")
    # No block saved (no watched fill on chain yet): the window alone bounds the backfill.
    chain_block = block if isinstance(block, int) and block >= 0 else 0
    chain_floor = window if chain_block else max(base, alive - timedelta(seconds=60))
    stamp = saved.get("dataapi_ts")
    mark = datetime.fromtimestamp(stamp, tz=now.tzinfo) if isinstance(stamp, int) else alive
    dataapi_floor = max(base, min(mark, alive) - timedelta(seconds=DATAAPI_REWIND_S))
    seen: list[object] = []
    for event in journal.recent("signal", min(chain_floor, dataapi_floor)):
        p = event.payload
        try:
            seen.append(
                (
                    str(p["tx_hash"]).lower(),
                    str(p["wallet"]).lower(),
                    str(p["token_id"]),
                    Side(p["side"]),
                    Decimal(str(p["shares"])),
                )
            )
        except (KeyError, ValueError, InvalidOperation):
            continue
    return CatchUp(since, chain_block, chain_floor, dataapi_floor, seen)


def build_engine(
    loaded: Any,
    live: bool = False,
    demo: bool = False,
    clock: Clock | None = None,
    *,
    tap: Tap | None = None,
    transport: Any = None,
    role: str = "",
    advisor_clients: dict[str, Any] | None = None,
) -> Any:
    """Build an :class:`~polytui.engine.Engine` from a loaded config, paper unless ``live``.

    ``tap(src, data, **http)`` sees every raw frame and HTTP response (``polytui record``);
    ``transport`` replaces the HTTP transport (``polytui replay`` answers from a capture).
    The engine holds the data dir's lock until its journal closes: a second engine on the
    same journal is refused, naming the first one's pid (``role`` says what this one is).
    """
    from polytui.config import data_dir
    from polytui.engine import Engine
    from polytui.execution.paper import PaperBroker
    from polytui.feeds.books import BookStore
    from polytui.journal import Journal, journal_path
    from polytui.portfolio import Portfolio
    from polytui.strategy.pipeline import Strategy

    settings = loaded.settings
    redaction.install(settings)  # before any feed can log a URL with a key in it
    clock = clock or SystemClock()
    mode = "live" if live else "paper"
    broker: Any = None
    if live:
        # The typed confirmation is the caller's (polytui.execution.live.confirm_live); the
        # config gate is checked again here so no path reaches a live broker without it.
        if settings.mode != "live":
            raise EngineBuildError('live trading needs mode = "live" in the config file')
        broker = _live_broker(settings, clock)
    directory = data_dir(settings)
    lock = _lock_data_dir(directory, role or ("demo" if demo else "console"))
    path = journal_path(directory, mode)
    try:
        journal = Journal.open(path, mode=mode, backups=settings.storage.backups)
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    journal.lock = lock
    books = BookStore()
    bus = EventBus()
    portfolio = Portfolio(
        settings.paper.starting_balance_usd,
        clock,
        take_profit=settings.paper.take_profit,
        stop_loss=settings.paper.stop_loss,
    )
    strategy = Strategy(settings, clock)
    strategy.scorer.set_priors(_history_priors(journal, settings))
    if broker is None:
        broker = PaperBroker(settings.paper, books, clock)
    engine = Engine(
        settings,
        journal=journal,
        strategy=strategy,
        broker=broker,
        portfolio=portfolio,
        books=books,
        markets=None,
        bus=bus,
        clock=clock,
        mode=mode,
        demo=demo,
        journal_path=path,
    )
    _attach_feeds(engine, settings, books, tap, transport)
    if live:
        engine.feeds["user"] = broker.feed
    if settings.advisors.enabled:
        from polytui.advisors.wiring import attach_advisors

        attach_advisors(engine, journal, advisor_clients)
    return engine


def _history_priors(journal: Any, settings: Any) -> dict[str, Any]:
    """Saved whale profiles as the scorer's per-wallet priors (``polytui whales rank``)."""
    from polytui.strategy.prior import priors_from_journal

    return priors_from_journal(journal, latency_s=settings.history.source_latency_s)


def _live_broker(settings: Any, clock: Clock) -> Any:
    """The CLOB V2 broker, with credentials from the environment (errors name the variable)."""
    from polytui.execution.live import LiveBroker, LiveCredentials, LiveError

    try:
        import py_clob_client_v2  # noqa: F401  (fail here, with a clear message)
    except ImportError:
        raise EngineBuildError(
            "live trading needs py-clob-client-v2 (pip install 'polytui[live]')"
        ) from None
    try:
        credentials = LiveCredentials.from_env(settings)
    except LiveError as exc:
        raise EngineBuildError(str(exc)) from None
    return LiveBroker(settings, credentials, clock)


def _lock_data_dir(directory: Any, role: str) -> Any:
    """One journal, one engine: take the data dir's lock (None if this process has it)."""
    from polytui.datadir import DataDirError
    from polytui.pidlock import LockHeld, hold

    try:
        return hold(directory, role)
    except LockHeld as exc:
        raise EngineBuildError(f"{exc}; {exc.advice()}") from None
    except DataDirError as exc:
        raise EngineBuildError(str(exc)) from None
    except OSError as exc:
        raise EngineBuildError(f"cannot use the data dir {directory}: {exc.strerror}") from None


def _attach_feeds(engine: Any, settings: Any, books: Any, tap: Tap | None, transport: Any) -> None:
    """Create every configured feed with the engine's callbacks."""
    from polytui.engine import CURSOR_KEY
    from polytui.feeds.clob import ClobMarketFeed
    from polytui.feeds.clob_fees import ClobFeeSource
    from polytui.feeds.gamma import MarketDirectory
    from polytui.feeds.http import make_client
    from polytui.feeds.stream import WhaleStream

    feeds_cfg = settings.feeds
    plan = catch_up_plan(engine.journal, feeds_cfg.catch_up_s, engine.clock.now())
    if plan is not None:
        engine.catch_up_since = plan.since
        engine.restore_cursor(engine.journal.get_state(CURSOR_KEY))
        log.info(
            "catching up whale trades missed while down (since %s)",
            plan.since.isoformat(timespec="seconds"),
        )
    # A replayed or simulated transport answers what was recorded or what its world holds: no
    # warm-up requests are made of it.
    warm = transport is None
    if tap is not None and transport is None:
        from polytui.capture import RecordingTransport

        transport = RecordingTransport(tap)
    client = make_client(timeout_s=feeds_cfg.http_timeout_s, transport=transport)

    def tap_for(src: str) -> Callable[[str], None] | None:
        return None if tap is None else (lambda data: tap(src, data))

    # Every feed reads the engine's clock (a backtest's is virtual), never the system's own.
    clock = engine.clock
    # Live orders are sized with the fee the CLOB charges (its /clob-markets fd), cross-checked
    # against Gamma's feeSchedule; paper trading reads Gamma's alone.
    fees = ClobFeeSource(client, feeds_cfg.clob_rest_url) if engine.mode == "live" else None
    markets = MarketDirectory(
        client,
        feeds_cfg.gamma_url,
        ttl_s=feeds_cfg.market_cache_ttl_s,
        monotonic=clock.monotonic,
        fees=fees,
    )
    engine.markets = markets

    def on_book_changed(token_id: str) -> None:
        engine.note_book_changed(token_id)

    clob = ClobMarketFeed(
        feeds_cfg.clob_ws_url,
        books,
        on_book_changed=on_book_changed,
        on_market_resolved=engine.submit_resolution,
        ping_interval_s=feeds_cfg.clob_ping_s,
        silence_s=feeds_cfg.clob_silence_s,
        backoff_initial_s=feeds_cfg.backoff_initial_s,
        backoff_cap_s=feeds_cfg.backoff_cap_s,
        rest_url=feeds_cfg.clob_rest_url,
        http_client=client,
        tap=tap_for("clob"),
        wall_clock=clock.now,
        max_assets_per_connection=feeds_cfg.clob_max_assets_per_connection,
        idle_unsubscribe_s=feeds_cfg.clob_idle_unsubscribe_s,
        keep=engine.book_tokens_in_use,
        closed=lambda token: bool((m := markets.cached(token)) is not None and m.closed),
        monotonic=clock.monotonic,
    )
    engine.clob = clob
    engine.feeds["clob"] = clob
    engine.feeds["gamma"] = markets
    from polytui.feeds.resolver import Resolver

    engine.feeds["resolver"] = Resolver(
        client,
        markets,
        clob_url=feeds_cfg.clob_rest_url,
        data_api_url=feeds_cfg.data_api_url,
        candidates=engine.resolution_candidates,
        on_resolution=engine.submit_resolved,
        interval_s=feeds_cfg.resolution_poll_s,
        now=clock.now,
        monotonic=clock.monotonic,
    )
    wallets = {w.lower() for w in settings.whales.wallets}
    stream = WhaleStream(
        markets.get_by_token,
        _warm_trades(engine, settings, client, markets, clob, wallets if warm else set()),
        lookup_condition=markets.get_by_condition,
        on_retract=engine.submit_retraction,
        on_confirm=engine.submit_tx_mined,
        on_withdraw=engine.submit_tx_gone,
        monotonic=clock.monotonic,
    )
    engine.stream = stream
    engine.feeds["stream"] = stream
    if plan is not None:
        stream.remember(plan.seen)
    min_usd = settings.whales.min_trade_usd if settings.whales.discovery else None
    if feeds_cfg.activity_enabled:
        from polytui.feeds.activity import ActivityFeed

        engine.feeds["activity"] = ActivityFeed(
            feeds_cfg.rtds_ws_url,
            wallets=wallets,
            discovery_min_usd=min_usd,
            on_trade=stream.offer,
            ping_interval_s=feeds_cfg.rtds_ping_s,
            silence_s=feeds_cfg.rtds_silence_s,
            quiet_retry_max_s=feeds_cfg.rtds_quiet_retry_max_s,
            backoff_initial_s=feeds_cfg.backoff_initial_s,
            backoff_cap_s=feeds_cfg.backoff_cap_s,
            tap=tap_for("rtds"),
            wall_clock=clock.now,
        )
    rpc_url = os.environ.get(feeds_cfg.polygon_ws_env, "")
    chain_feed = _chain_feed_class() if feeds_cfg.chain_enabled and rpc_url else None
    if chain_feed is not None:
        engine.feeds["chain"] = chain_feed(
            rpc_url,
            addresses=feeds_cfg.exchange_addresses,
            wallets=wallets,
            discovery_min_usd=min_usd,
            on_trade=stream.offer,
            on_retract=stream.retract,
            silence_s=feeds_cfg.chain_silence_s,
            backoff_initial_s=feeds_cfg.backoff_initial_s,
            backoff_cap_s=feeds_cfg.backoff_cap_s,
            tap=tap_for("chain"),
            resume_block=None if plan is None else plan.chain_block,
            catch_up_since=None if plan is None else plan.chain_floor,
            monotonic=clock.monotonic,
            wall_clock=clock.now,
        )
        if feeds_cfg.mempool_enabled:
            from polytui.feeds.mempool import MempoolFeed

            engine.feeds["mempool"] = MempoolFeed(
                rpc_url,
                addresses=feeds_cfg.exchange_addresses,
                wallets=wallets,
                discovery_min_usd=min_usd,
                on_trade=stream.offer,
                on_retract=stream.withdraw,
                on_notice=lambda level, text: engine._notice(level, text, "mempool"),
                tap=tap_for("mempool"),
                silence_s=feeds_cfg.chain_silence_s,
                backoff_initial_s=feeds_cfg.backoff_initial_s,
                backoff_cap_s=feeds_cfg.backoff_cap_s,
                monotonic=clock.monotonic,
                wall_clock=clock.now,
            )
    elif feeds_cfg.chain_enabled and not rpc_url:
        log.info("chain feed off: set %s to a Polygon WebSocket RPC URL", feeds_cfg.polygon_ws_env)
    if feeds_cfg.dataapi_poll_enabled and wallets:
        from polytui.feeds.dataapi import DataApiPoller
        from polytui.feeds.history import HistoryClient
        from polytui.feeds.ratelimit import data_api_limiter

        h = settings.history
        limiter = data_api_limiter(h.requests_per_10s, h.trades_per_10s, h.positions_per_10s)
        engine.feeds["dataapi"] = DataApiPoller(
            HistoryClient(client, feeds_cfg.data_api_url, limiter=limiter, attempts=3),
            wallets,
            interval_s=feeds_cfg.dataapi_poll_s,
            on_trade=stream.offer,
            accept_since=None if plan is None else plan.dataapi_floor,
            monotonic=clock.monotonic,
            wall_clock=clock.now,
        )


def _warm_trades(
    engine: Any, settings: Any, client: Any, markets: Any, clob: Any, wallets: set[str]
) -> Callable[[Any], None]:
    """Keep warm the markets the watched wallets hold and traded lately (a feed), and return
    the stream's callback: each trade marks its market relevant, then goes to the engine."""
    feeds_cfg = settings.feeds
    if feeds_cfg.warm_markets_max <= 0 or not wallets:
        return engine.submit_trade  # type: ignore[no-any-return]
    from polytui.feeds.history import HistoryClient
    from polytui.feeds.ratelimit import data_api_limiter
    from polytui.feeds.warm import MarketWarmer

    h = settings.history
    limiter = data_api_limiter(h.requests_per_10s, h.trades_per_10s, h.positions_per_10s)
    warmer = MarketWarmer(
        HistoryClient(client, feeds_cfg.data_api_url, limiter=limiter, attempts=3),
        wallets,
        markets,
        clob,
        max_markets=feeds_cfg.warm_markets_max,
        refresh_s=feeds_cfg.warm_refresh_s,
        keep=engine.book_tokens_in_use,
        wall_clock=engine.clock.now,
        monotonic=engine.clock.monotonic,
    )
    engine.feeds["warm"] = warmer

    def on_trade(trade: Any) -> None:
        warmer.note(trade)
        engine.submit_trade(trade)

    return on_trade


def _chain_feed_class() -> Any:
    try:
        from polytui.feeds.chain import ChainFeed
    except ImportError:
        log.warning("chain feed cannot load (web3 missing?); using RTDS and the data-api")
        return None
    return ChainFeed
