"""What the engine needs from each collaborator, as typed Protocols.

The engine never asks an object what it can do (no ``getattr``/``hasattr``): everything it
calls is listed here, and ``wiring`` hands it objects that have all of it. Optional behaviour
has its own protocol (``AsyncReports`` for a broker that reports after ``execute`` returns)
and is passed as ``None`` when absent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from polytui.execution.broker import Broker, ExecutionReport
from polytui.feeds.books import OrderBook
from polytui.journal import JournalEvent
from polytui.model import (
    FeedStatus,
    Fill,
    Market,
    Order,
    PnLSnapshot,
    PortfolioView,
    Position,
    RiskSnapshot,
    TradeIntent,
    WhaleTrade,
)
from polytui.settings import AdvisorSettings, Settings
from polytui.strategy.pipeline import KillResult, Outcome, Record, StrategyResult
from polytui.strategy.scoring import WalletRecord

__all__ = [
    "Advisors",
    "Approvals",
    "AsyncReports",
    "BookChannel",
    "Books",
    "Broker",
    "Dedup",
    "ExecutionReport",
    "Feed",
    "Journal",
    "Markets",
    "Portfolio",
    "Review",
    "RiskFlags",
    "Scorer",
    "ShardedFeed",
    "StartReport",
    "Strategy",
    "WhaleStream",
]


class Journal(Protocol):
    """The append-only record and the saved state (``polytui.journal.Journal``)."""

    path: Path
    fault: str  # why writes fail now ("" while they work)

    def append(
        self, kind: str, payload: dict[str, Any], *, ref: str = ..., durable: bool = ...
    ) -> int: ...

    def flush(self, *, force: bool = ...) -> bool: ...

    def set_state(self, key: str, value: Any) -> None: ...

    def get_state(self, key: str) -> Any: ...

    def count(self, kind: str | None = ...) -> int: ...

    def recent(self, kind: str, since: datetime) -> Iterator[JournalEvent]: ...

    def record_equity(self, now: datetime, equity_usd: Decimal, cash_usd: Decimal) -> None: ...

    def maybe_daily_backup(self, now: datetime) -> Path | None: ...

    # Not called by the engine: whoever ran it reads the journal back and closes it.
    def events(
        self, kinds: Iterable[str] | None = ..., since_id: int = ..., ref: str | None = ...
    ) -> Iterator[JournalEvent]: ...

    def close(self) -> None: ...


class RiskFlags(Protocol):
    """RiskGuard's switches: the engine sets pause, the strategy sets kill and the halt."""

    paused: bool
    killed: bool
    halted: bool
    halt_reason: str

    def reset_halt(self) -> None: ...


class Approvals(Protocol):
    """The approval queue, read-only from the engine."""

    def pending(self) -> list[TradeIntent]: ...

    def get(self, intent_id: str) -> TradeIntent | None: ...

    def policy_for(self, wallet: str) -> str: ...


class Scorer(Protocol):
    """Per-wallet records: their open buys are markets still awaiting a result."""

    records: dict[str, WalletRecord]


class Dedup(Protocol):
    """The strategy's duplicate filter."""

    def forget(self, trade: WhaleTrade) -> None: ...


class Strategy(Protocol):
    """Signals, sizing, risk and approvals (``polytui.strategy.pipeline.Strategy``)."""

    @property
    def risk(self) -> RiskFlags: ...

    @property
    def approvals(self) -> Approvals: ...

    @property
    def scorer(self) -> Scorer: ...

    @property
    def dedup(self) -> Dedup: ...

    def on_trade(
        self,
        trade: WhaleTrade,
        market: Market | None,
        book: OrderBook | None,
        view: PortfolioView,
        *,
        max_age_s: float | None = ...,
    ) -> StrategyResult: ...

    def reconsider(
        self, intent_id: str, adjust: Callable[[Decimal], Decimal], note: str, view: PortfolioView
    ) -> Outcome: ...

    def approve(self, intent_id: str, view: PortfolioView) -> Outcome: ...

    def reject(self, intent_id: str, reason: str) -> Outcome: ...

    def finish(self, intent_id: str, filled: bool, reason: str) -> TradeIntent | None: ...

    def expire_due(self, now: datetime) -> list[TradeIntent]: ...

    def kill(self, now: datetime) -> KillResult: ...

    def on_fill(self, fill: Fill) -> None: ...

    def on_market_resolved(
        self,
        condition_id: str,
        winning_token_id: str,
        at: datetime,
        pays: Callable[[str], Decimal] | None = ...,
    ) -> list[Record]: ...

    def probe_taxes(self, book_of: Callable[[str], OrderBook | None]) -> int: ...

    def risk_snapshot(self, view: PortfolioView) -> RiskSnapshot: ...

    def export_state(self) -> dict[str, Any]: ...

    def restore_state(self, state: dict[str, Any], now: datetime) -> list[TradeIntent]: ...

    def reload(self, settings: Settings) -> None: ...


class StartReport(Protocol):
    """What a live broker's start-up checks found."""

    ok: bool
    balance_usd: Decimal | None
    notices: list[tuple[str, str]]


class AsyncReports(Protocol):
    """A broker that reports after ``execute`` returns (live): start-up checks, callbacks for
    status changes and late fills, and a close."""

    def bind(
        self,
        *,
        on_order: Callable[[Order], None] | None = ...,
        on_fill: Callable[[Fill], None] | None = ...,
        on_record: Callable[[str, str, dict[str, Any]], None] | None = ...,
    ) -> None: ...

    async def start(self, positions: Mapping[str, Decimal], journal: Journal) -> StartReport: ...

    async def close(self) -> None: ...


class Portfolio(Protocol):
    """Cash, positions and P&L (``polytui.portfolio.Portfolio``)."""

    def untouched(self) -> bool: ...

    def start_from(self, balance: Decimal) -> None: ...

    def apply_fill(self, fill: Fill, market: Market | None) -> None: ...

    def settle(
        self,
        condition_id: str,
        winning_token_id: str,
        pays: Callable[[str], Decimal] | None = ...,
    ) -> list[dict[str, str]]: ...

    def mark(self, token_id: str, best_bid: Decimal | None, mid: Decimal | None) -> bool: ...

    def close_position(self, token_id: str, now: datetime) -> Order | None: ...

    def exits_due(self, now: datetime) -> list[Order]: ...

    def tokens(self) -> list[str]: ...

    def positions_by_resolution(self, now: datetime) -> list[Position]: ...

    def record_equity(self) -> Decimal: ...

    def equity(self) -> Decimal: ...

    def pnl(self) -> PnLSnapshot: ...

    def view(self, now: datetime, feeds_stale: bool) -> PortfolioView: ...

    def export_state(self) -> dict[str, Any]: ...

    def restore_state(self, state: dict[str, Any]) -> None: ...


class Books(Protocol):
    """The order books the market channel keeps (``polytui.feeds.books.BookStore``)."""

    def get(self, token_id: str) -> OrderBook | None: ...

    def tokens(self) -> list[str]: ...


class Markets(Protocol):
    """Market metadata by token, cached (``polytui.feeds.gamma.MarketDirectory``)."""

    async def get_by_token(self, token_id: str) -> Market | None: ...

    def cached(self, token_id: str) -> Market | None: ...

    def fresh(self, token_id: str) -> Market | None: ...


class BookChannel(Protocol):
    """The market channel's subscriptions (``polytui.feeds.clob.ClobMarketFeed``)."""

    def subscribe(self, tokens: list[str]) -> None: ...

    def unsubscribe(self, tokens: list[str]) -> None: ...


class WhaleStream(Protocol):
    """The merged, deduplicated whale stream (``polytui.feeds.stream.WhaleStream``)."""

    @property
    def pending(self) -> int: ...


class Feed(Protocol):
    """Anything the engine runs as a task and shows as a row of the health pane."""

    async def run(self) -> None: ...

    async def stop(self) -> None: ...

    def status(self) -> FeedStatus: ...


class ShardedFeed(Feed, Protocol):
    """A feed with several connections: one health row each."""

    def statuses(self) -> tuple[FeedStatus, ...]: ...


class WalletWatcher(Protocol):
    """A whale source that follows a new watch list without reconnecting (a reload)."""

    async def watch(self, wallets: set[str]) -> None: ...


class Review(Protocol):
    """The advisors' consensus on one pending buy."""

    @property
    def intent_id(self) -> str: ...

    def adjust(self, estimate: Decimal) -> Decimal: ...

    @property
    def note(self) -> str: ...


class Advisors(Protocol):
    """Second opinions on pending buys (``polytui.advisors.second_opinion.SecondOpinions``)."""

    def wants(self, intent: TradeIntent) -> bool: ...

    def request(
        self, intent: TradeIntent, market: Market | None, done: Callable[[Review], None]
    ) -> None: ...

    def reload(self, settings: AdvisorSettings) -> str: ...

    async def stop(self) -> None: ...
