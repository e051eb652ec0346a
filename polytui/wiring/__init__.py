"""Assembles a real engine from settings: journal, feeds, strategy, broker, portfolio.

Kept apart from ``polytui.engine`` so the engine's logic reads without construction noise, and
so tests can assemble an engine from their own parts. The order is fixed by who calls whom:
the inbox, the book watch, the order desk and the interest exist first; the feeds are built
with their methods; the engine is built last, whole, from ``EngineParts`` (nothing is set on it
afterwards). A replay or a backtest asks for ``driven`` parts: the market channel and RTDS
are built with the same callbacks but left out of the feeds the engine runs, and handed back
so the caller can give their parsers frames itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from polytui import redaction
from polytui.bus import EventBus
from polytui.clock import Clock, SystemClock
from polytui.engine import (
    BookWatch,
    CursorKeeper,
    Engine,
    EngineParts,
    Inbox,
    Interest,
    OrderDesk,
    OrderTypes,
    catch_up_plan,
)
from polytui.engine.ports import Feed
from polytui.execution.broker import Broker
from polytui.feeds.activity import ActivityFeed
from polytui.feeds.books import BookStore
from polytui.feeds.clob import ClobMarketFeed
from polytui.feeds.stream import WhaleStream
from polytui.journal import Journal
from polytui.portfolio import Portfolio
from polytui.settings import Settings
from polytui.strategy.pipeline import Strategy
from polytui.wiring.feeds import FeedContext, Hooks, Tap, build_feeds

if TYPE_CHECKING:
    from polytui.engine.ports import Advisors
    from polytui.execution.live import LiveBroker

log = logging.getLogger(__name__)


class EngineBuildError(RuntimeError):
    """The engine cannot be assembled from this configuration (message says why)."""


@dataclass(slots=True)
class DrivenFeeds:
    """The parsers a replay or a backtest hands frames to itself (see the module docstring)."""

    clob: ClobMarketFeed
    activity: ActivityFeed | None
    stream: WhaleStream


@dataclass(slots=True)
class _Core:
    """The parts every feed and the engine share, opened first."""

    settings: Settings
    clock: Clock
    mode: str
    journal: Journal
    journal_path: Path
    books: BookStore
    portfolio: Portfolio
    strategy: Strategy
    broker: Broker
    live_broker: LiveBroker | None
    desk: OrderDesk
    hooks: Hooks


def build_engine(
    loaded: Any,
    live: bool = False,
    demo: bool = False,
    clock: Clock | None = None,
    *,
    tap: Tap | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    role: str = "",
    advisor_clients: dict[str, Any] | None = None,
    warm_up: bool | None = None,
) -> Engine:
    """Build an :class:`~polytui.engine.Engine` from a loaded config, paper unless ``live``.

    ``tap(src, data)`` sees every raw frame (``polytui record``); ``transport`` replaces the
    HTTP transport (``polytui record`` passes one that records, ``polytui replay`` one that
    answers from a capture). The engine holds the data dir's lock until its journal closes: a
    second engine on the same journal is refused, naming the first one's pid (``role`` says
    what this one is).
    """
    parts, _driven = build_parts(
        loaded,
        live,
        demo,
        clock,
        tap=tap,
        transport=transport,
        role=role,
        advisor_clients=advisor_clients,
        warm_up=warm_up,
    )
    return Engine(parts)


def build_parts(
    loaded: Any,
    live: bool = False,
    demo: bool = False,
    clock: Clock | None = None,
    *,
    tap: Tap | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    role: str = "",
    advisor_clients: dict[str, Any] | None = None,
    driven: bool = False,
    scratch: bool = False,
    warm_up: bool | None = None,
) -> tuple[EngineParts, DrivenFeeds]:
    """Every part of an engine (see :func:`build_engine`), and the feeds a caller may drive:
    with ``driven`` the market channel and RTDS are not among the feeds the engine runs.
    ``scratch``: the journal is a temporary file (a backtest's), committed without fsync.
    ``warm_up``: whether the markets the whales hold are fetched ahead (default: only over a
    real transport, ``transport`` None)."""
    core = _open_core(
        loaded.settings, clock or SystemClock(), live, role or ("demo" if demo else "console")
    )
    if scratch:
        core.journal.scratch()
    settings, journal, hooks = core.settings, core.journal, core.hooks
    plan = catch_up_plan(journal, settings.feeds.catch_up_s, core.clock.now())
    if plan is not None:
        since = plan.since.isoformat(timespec="seconds")
        log.info("catching up whale trades missed while down (since %s)", since)
    # A replayed or simulated transport answers what was recorded or what its world holds: no
    # warm-up requests are made of it.
    warm = transport is None if warm_up is None else warm_up
    context = FeedContext(settings, core.clock, core.books, hooks, core.mode == "live", warm)
    feeds = build_feeds(context, tap, transport, plan)
    running = dict(feeds.running)
    if driven:
        running.pop("clob", None)
        running.pop("activity", None)
    if core.live_broker is not None:
        running["user"] = core.live_broker.feed
    advisors, advisor_rows = _advisors(settings, journal, core.clock, advisor_clients)
    running.update(advisor_rows)
    cursor = CursorKeeper(
        journal,
        core.clock,
        hooks.inbox,
        feeds.stream,
        catch_up_s=settings.feeds.catch_up_s,
        plan=plan,
        chain=feeds.chain,
        dataapi=feeds.dataapi,
    )
    parts = EngineParts(
        settings=settings,
        journal=journal,
        strategy=core.strategy,
        broker=core.broker,
        portfolio=core.portfolio,
        books=core.books,
        markets=feeds.markets,
        stream=feeds.stream,
        bus=EventBus(),
        clock=core.clock,
        inbox=hooks.inbox,
        watch=hooks.watch,
        desk=core.desk,
        interest=hooks.interest,
        cursor=cursor,
        feeds=running,
        # The market channel shows one health row per connection, when it runs.
        sharded={"clob": feeds.clob} if "clob" in running else {},
        watchers=feeds.watchers(running),
        channel=feeds.clob,
        reports=core.live_broker,
        advisors=advisors,
        mode=core.mode,
        demo=demo,
        journal_path=core.journal_path,
    )
    return parts, DrivenFeeds(feeds.clob, feeds.activity, feeds.stream)


def _open_core(settings: Settings, clock: Clock, live: bool, role: str) -> _Core:
    """The journal (under the data dir's lock), the portfolio, the strategy, the broker, the
    order desk and the hooks the feeds will call."""
    redaction.install(settings)  # before any feed can log a URL with a key in it
    mode = "live" if live else "paper"
    live_broker = _live_broker(settings, clock) if live else None
    journal, path = _open_journal(settings, mode, role)
    books = BookStore()
    portfolio = Portfolio(
        settings.paper.starting_balance_usd,
        clock,
        take_profit=settings.paper.take_profit,
        stop_loss=settings.paper.stop_loss,
    )
    strategy = Strategy(settings, clock)
    strategy.scorer.set_priors(_history_priors(journal, settings))
    broker: Broker
    if live_broker is not None:
        broker = live_broker
    else:
        from polytui.execution.paper import PaperBroker

        broker = PaperBroker(settings.paper, books, clock)
    desk = OrderDesk(broker, settings, clock, _order_types(live_broker))
    hooks = Hooks(Inbox(), BookWatch(books), Interest(portfolio, strategy, desk, clock))
    return _Core(
        settings,
        clock,
        mode,
        journal,
        path,
        books,
        portfolio,
        strategy,
        broker,
        live_broker,
        desk,
        hooks,
    )


def _open_journal(settings: Settings, mode: str, role: str) -> tuple[Journal, Path]:
    """The data dir's lock, then the journal that holds it until it closes."""
    from polytui.config import data_dir
    from polytui.journal import journal_path

    directory = data_dir(settings)
    lock = _lock_data_dir(directory, role)
    path = journal_path(directory, mode)
    try:
        journal = Journal.open(path, mode=mode, backups=settings.storage.backups)
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    journal.lock = lock
    return journal, path


def _order_types(live_broker: LiveBroker | None) -> OrderTypes:
    """A live broker's own entry and exit types; paper takes ``[paper] order_type``."""
    if live_broker is None:
        return OrderTypes()
    return OrderTypes(entry=live_broker.entry_order_type, exit=live_broker.exit_order_type)


def _advisors(
    settings: Settings, journal: Journal, clock: Clock, clients: dict[str, Any] | None
) -> tuple[Advisors | None, dict[str, Feed]]:
    """Second opinions and their health rows when ``[advisors]`` is on, else (None, {})."""
    if not settings.advisors.enabled:
        return None, {}
    from polytui.advisors.wiring import build_advisors

    advisors, rows = build_advisors(settings, journal, clock, clients)
    return advisors, dict(rows)


def _history_priors(journal: Journal, settings: Settings) -> dict[str, Any]:
    """Saved whale profiles as the scorer's per-wallet priors (``polytui whales rank``)."""
    from polytui.strategy.prior import priors_from_journal

    return priors_from_journal(journal, latency_s=settings.history.source_latency_s)


def _live_broker(settings: Settings, clock: Clock) -> LiveBroker:
    """The CLOB V2 broker, with credentials from the environment (errors name the variable)."""
    # The typed confirmation is the caller's (polytui.execution.live.confirm_live); the
    # config gate is checked again here so no path reaches a live broker without it.
    if settings.mode != "live":
        raise EngineBuildError('live trading needs mode = "live" in the config file')
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


def _lock_data_dir(directory: Path, role: str) -> Any:
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
