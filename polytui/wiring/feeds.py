"""Every configured feed, built with the hooks they call (the engine's inbox, book watch and
interest), before the engine exists."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

import httpx

from polytui.clock import Clock
from polytui.engine import BookWatch, CatchUp, Inbox, Interest
from polytui.engine.ports import Feed, WalletWatcher
from polytui.feeds.activity import ActivityFeed
from polytui.feeds.books import BookStore
from polytui.feeds.clob import ClobMarketFeed
from polytui.feeds.dataapi import DataApiPoller
from polytui.feeds.gamma import MarketDirectory
from polytui.feeds.stream import WhaleStream
from polytui.model import WhaleTrade
from polytui.settings import Settings

if TYPE_CHECKING:
    from polytui.feeds.chain import ChainFeed
    from polytui.feeds.mempool import MempoolFeed
    from polytui.feeds.warm import MarketWarmer

log = logging.getLogger(__name__)

Tap = Callable[..., None]
TapFor = Callable[[str], Callable[[str], None] | None]


@dataclass(slots=True)
class Hooks:
    """What the feeds call: the inbox, the book watch and the interest."""

    inbox: Inbox
    watch: BookWatch
    interest: Interest


@dataclass(slots=True)
class FeedContext:
    """What every feed is built from."""

    settings: Settings
    clock: Clock  # every feed reads the engine's clock (a backtest's is virtual)
    books: BookStore
    hooks: Hooks
    live: bool
    warm: bool  # warm-up requests may be made (a real transport)


@dataclass(slots=True)
class Feeds:
    """Every feed built from the config, before the engine."""

    markets: MarketDirectory
    clob: ClobMarketFeed
    stream: WhaleStream
    running: dict[str, Feed] = field(default_factory=dict)  # in health-pane order
    activity: ActivityFeed | None = None
    chain: ChainFeed | None = None  # imported only when web3 is there
    mempool: MempoolFeed | None = None
    dataapi: DataApiPoller | None = None
    warm: MarketWarmer | None = None

    def watchers(self, running: Mapping[str, Feed]) -> dict[str, WalletWatcher]:
        """The sources in ``running`` that filter on the watch list, by name: a reload points
        them at the new list (``FeedSupervisor.watch_wallets``)."""
        named: dict[str, WalletWatcher | None] = {
            "activity": self.activity,
            "chain": self.chain,
            "mempool": self.mempool,
            "dataapi": self.dataapi,
            "warm": self.warm,
        }
        return {n: w for n, w in named.items() if w is not None and n in running}


def build_feeds(
    core: FeedContext,
    tap: Tap | None,
    transport: httpx.AsyncBaseTransport | None,
    plan: CatchUp | None,
) -> Feeds:
    """Every configured feed, given the hooks' methods as callbacks."""
    from polytui.feeds.http import make_client

    client = make_client(timeout_s=core.settings.feeds.http_timeout_s, transport=transport)

    def tap_for(src: str) -> Callable[[str], None] | None:
        return None if tap is None else (lambda data: tap(src, data))

    feeds = _market_feeds(core, client, tap_for)
    _whale_feeds(feeds, core, client, tap_for, plan)
    return feeds


def _market_feeds(core: FeedContext, client: httpx.AsyncClient, tap_for: TapFor) -> Feeds:
    """Gamma's directory, the market channel, the resolver and the merged whale stream."""
    from polytui.feeds.clob_fees import ClobFeeSource
    from polytui.feeds.resolver import Resolver

    cfg, clock, hooks = core.settings.feeds, core.clock, core.hooks
    # Every feed reads the engine's clock (a backtest's is virtual), never the system's own.
    # Live orders are sized with the fee the CLOB charges (its /clob-markets fd), cross-checked
    # against Gamma's feeSchedule; paper trading reads Gamma's alone.
    fees = ClobFeeSource(client, cfg.clob_rest_url) if core.live else None
    markets = MarketDirectory(
        client, cfg.gamma_url, ttl_s=cfg.market_cache_ttl_s, monotonic=clock.monotonic, fees=fees
    )
    clob = ClobMarketFeed(
        cfg.clob_ws_url,
        core.books,
        on_book_changed=hooks.watch.note_changed,
        on_market_resolved=hooks.inbox.submit_resolution,
        ping_interval_s=cfg.clob_ping_s,
        silence_s=cfg.clob_silence_s,
        backoff_initial_s=cfg.backoff_initial_s,
        backoff_cap_s=cfg.backoff_cap_s,
        rest_url=cfg.clob_rest_url,
        http_client=client,
        tap=tap_for("clob"),
        wall_clock=clock.now,
        max_assets_per_connection=cfg.clob_max_assets_per_connection,
        idle_unsubscribe_s=cfg.clob_idle_unsubscribe_s,
        keep=hooks.interest.book_tokens_in_use,
        closed=lambda token: bool((m := markets.cached(token)) is not None and m.closed),
        monotonic=clock.monotonic,
    )
    resolver = Resolver(
        client,
        markets,
        clob_url=cfg.clob_rest_url,
        data_api_url=cfg.data_api_url,
        candidates=hooks.interest.resolution_candidates,
        on_resolution=hooks.inbox.submit_resolved,
        interval_s=cfg.resolution_poll_s,
        now=clock.now,
        monotonic=clock.monotonic,
    )
    running: dict[str, Feed] = {"clob": clob, "gamma": markets, "resolver": resolver}
    on_trade: Callable[[WhaleTrade], None] = hooks.inbox.submit_trade
    warmer = _warmer(core, client, markets, clob)
    if warmer is not None:
        running["warm"] = warmer
        on_trade = _noting(warmer, hooks.inbox.submit_trade)
    stream = WhaleStream(
        markets.get_by_token,
        on_trade,
        lookup_condition=markets.get_by_condition,
        on_retract=hooks.inbox.submit_retraction,
        on_confirm=hooks.inbox.submit_tx_mined,
        on_withdraw=hooks.inbox.submit_tx_gone,
        monotonic=clock.monotonic,
    )
    running["stream"] = stream
    return Feeds(markets=markets, clob=clob, stream=stream, running=running, warm=warmer)


def _warmer(
    core: FeedContext, client: httpx.AsyncClient, markets: MarketDirectory, clob: ClobMarketFeed
) -> MarketWarmer | None:
    """Keeps warm the markets the watched wallets hold and traded lately, or None (off, or a
    replayed or simulated transport, which answers only what it holds). Built with no wallets
    too: it idles until a reload adds the first ones."""
    cfg = core.settings.feeds
    wallets = {w.lower() for w in core.settings.whales.wallets}
    if not core.warm or cfg.warm_markets_max <= 0:
        return None
    from polytui.feeds.history import HistoryClient
    from polytui.feeds.ratelimit import data_api_limiter
    from polytui.feeds.warm import MarketWarmer

    h = core.settings.history
    limiter = data_api_limiter(h.requests_per_10s, h.trades_per_10s, h.positions_per_10s)
    return MarketWarmer(
        HistoryClient(client, cfg.data_api_url, limiter=limiter, attempts=3),
        wallets,
        markets,
        clob,
        max_markets=cfg.warm_markets_max,
        refresh_s=cfg.warm_refresh_s,
        keep=core.hooks.interest.book_tokens_in_use,
        wall_clock=core.clock.now,
        monotonic=core.clock.monotonic,
    )


def _noting(
    warmer: MarketWarmer, submit: Callable[[WhaleTrade], None]
) -> Callable[[WhaleTrade], None]:
    """The stream's callback: each trade marks its market relevant, then goes to the engine."""

    def on_trade(trade: WhaleTrade) -> None:
        warmer.note(trade)
        submit(trade)

    return on_trade


def _whale_feeds(
    feeds: Feeds,
    core: FeedContext,
    client: httpx.AsyncClient,
    tap_for: TapFor,
    plan: CatchUp | None,
) -> None:
    """The whale sources (RTDS, chain, mempool, data-api), feeding the merged stream."""
    settings, clock = core.settings, core.clock
    cfg = settings.feeds
    stream = feeds.stream
    if plan is not None:
        stream.remember(plan.seen)
    wallets = {w.lower() for w in settings.whales.wallets}
    min_usd = settings.whales.min_trade_usd if settings.whales.discovery else None
    if cfg.activity_enabled:
        feeds.activity = ActivityFeed(
            cfg.rtds_ws_url,
            wallets=wallets,
            discovery_min_usd=min_usd,
            on_trade=stream.offer,
            ping_interval_s=cfg.rtds_ping_s,
            silence_s=cfg.rtds_silence_s,
            quiet_retry_max_s=cfg.rtds_quiet_retry_max_s,
            backoff_initial_s=cfg.backoff_initial_s,
            backoff_cap_s=cfg.backoff_cap_s,
            tap=tap_for("rtds"),
            wall_clock=clock.now,
        )
        feeds.running["activity"] = feeds.activity
    feeds.chain = _chain_feed(settings, stream, wallets, min_usd, clock, tap_for, plan)
    if feeds.chain is not None:
        feeds.running["chain"] = feeds.chain
        if cfg.mempool_enabled:  # on the chain feed's node
            feeds.mempool = _mempool_feed(core, stream, wallets, min_usd, tap_for)
            feeds.running["mempool"] = feeds.mempool
    if cfg.dataapi_poll_enabled:  # with no wallets too: it idles until a reload adds some
        feeds.dataapi = _dataapi_poller(settings, stream, wallets, clock, client, plan)
        feeds.running["dataapi"] = feeds.dataapi


def _chain_feed(
    settings: Settings,
    stream: WhaleStream,
    wallets: set[str],
    min_usd: Decimal | None,
    clock: Clock,
    tap_for: TapFor,
    plan: CatchUp | None,
) -> ChainFeed | None:
    """The Polygon log subscription, when on and a node URL is set (else None, said why)."""
    cfg = settings.feeds
    rpc_url = os.environ.get(cfg.polygon_ws_env, "")
    if cfg.chain_enabled and not rpc_url:
        log.info("chain feed off: set %s to a Polygon WebSocket RPC URL", cfg.polygon_ws_env)
    if not (cfg.chain_enabled and rpc_url):
        return None
    try:
        from polytui.feeds.chain import ChainFeed
    except ImportError:
        log.warning("chain feed cannot load (web3 missing?); using RTDS and the data-api")
        return None
    return ChainFeed(
        rpc_url,
        addresses=cfg.exchange_addresses,
        wallets=wallets,
        discovery_min_usd=min_usd,
        on_trade=stream.offer,
        on_retract=stream.retract,
        silence_s=cfg.chain_silence_s,
        backoff_initial_s=cfg.backoff_initial_s,
        backoff_cap_s=cfg.backoff_cap_s,
        tap=tap_for("chain"),
        resume_block=None if plan is None else plan.chain_block,
        catch_up_since=None if plan is None else plan.chain_floor,
        monotonic=clock.monotonic,
        wall_clock=clock.now,
    )


def _mempool_feed(
    core: FeedContext,
    stream: WhaleStream,
    wallets: set[str],
    min_usd: Decimal | None,
    tap_for: TapFor,
) -> MempoolFeed:
    """Pending ``matchOrders`` transactions of the watched wallets, from the chain's node."""
    from polytui.feeds.mempool import MempoolFeed

    cfg, clock = core.settings.feeds, core.clock
    submit_notice = core.hooks.inbox.submit_notice
    return MempoolFeed(
        os.environ.get(cfg.polygon_ws_env, ""),
        addresses=cfg.exchange_addresses,
        wallets=wallets,
        discovery_min_usd=min_usd,
        on_trade=stream.offer,
        on_retract=stream.withdraw,
        on_notice=lambda level, text: submit_notice(level, text, "mempool"),
        tap=tap_for("mempool"),
        silence_s=cfg.chain_silence_s,
        backoff_initial_s=cfg.backoff_initial_s,
        backoff_cap_s=cfg.backoff_cap_s,
        monotonic=clock.monotonic,
        wall_clock=clock.now,
    )


def _dataapi_poller(
    settings: Settings,
    stream: WhaleStream,
    wallets: set[str],
    clock: Clock,
    client: httpx.AsyncClient,
    plan: CatchUp | None,
) -> DataApiPoller:
    """The data-api poll of the watched wallets' trades."""
    from polytui.feeds.history import HistoryClient
    from polytui.feeds.ratelimit import data_api_limiter

    h = settings.history
    limiter = data_api_limiter(h.requests_per_10s, h.trades_per_10s, h.positions_per_10s)
    return DataApiPoller(
        HistoryClient(client, settings.feeds.data_api_url, limiter=limiter, attempts=3),
        wallets,
        interval_s=settings.feeds.dataapi_poll_s,
        on_trade=stream.offer,
        accept_since=None if plan is None else plan.dataapi_floor,
        monotonic=clock.monotonic,
        wall_clock=clock.now,
    )
