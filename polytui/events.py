"""Events the engine publishes on the bus: what the UI, control-socket clients and logs see.

Every event is a frozen dataclass holding domain objects. ``polytui.codec`` turns them into JSON
lines for the control socket and back, so an attached TUI receives the same objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from polytui.model import (
    BookTop,
    EngineState,
    FeedStatus,
    Fill,
    Order,
    PnLSnapshot,
    Position,
    RiskSnapshot,
    Signal,
    TradeIntent,
    WhaleTrade,
)

# How many recent signals the engine, a snapshot and every client keep (older ones live in the
# journal): the one definition of the cap.
SIGNALS_KEPT = 500


@dataclass(frozen=True, slots=True)
class Event:
    """Base class of bus events. ``key`` lets a slow consumer keep only the newest per key."""

    @property
    def key(self) -> str | None:
        """Events with the same non-None key supersede each other in a backlog."""
        return None


@dataclass(frozen=True, slots=True)
class WhaleTradeSeen(Event):
    """A whale trade passed dedup on the merged stream."""

    trade: WhaleTrade


@dataclass(frozen=True, slots=True)
class SignalUpdated(Event):
    """A signal was created or changed status."""

    signal: Signal

    @property
    def key(self) -> str | None:
        return f"signal:{self.signal.id}"


@dataclass(frozen=True, slots=True)
class IntentUpdated(Event):
    """A trade intent entered the approval queue or changed state."""

    intent: TradeIntent

    @property
    def key(self) -> str | None:
        return f"intent:{self.intent.id}"


@dataclass(frozen=True, slots=True)
class OrderUpdated(Event):
    """An order changed status."""

    order: Order


@dataclass(frozen=True, slots=True)
class FillReceived(Event):
    """One of our orders (partly) filled."""

    fill: Fill


@dataclass(frozen=True, slots=True)
class PositionsChanged(Event):
    """The full set of open positions, sorted by soonest resolution."""

    positions: tuple[Position, ...]

    @property
    def key(self) -> str | None:
        return "positions"


@dataclass(frozen=True, slots=True)
class PnLChanged(Event):
    """Portfolio totals changed."""

    pnl: PnLSnapshot

    @property
    def key(self) -> str | None:
        return "pnl"


@dataclass(frozen=True, slots=True)
class FeedStatusChanged(Event):
    """Health counters of every feed (published ~1/s, never by probing the network)."""

    feeds: tuple[FeedStatus, ...]

    @property
    def key(self) -> str | None:
        return "feeds"


@dataclass(frozen=True, slots=True)
class RiskChanged(Event):
    """Risk limits and their use."""

    risk: RiskSnapshot

    @property
    def key(self) -> str | None:
        return "risk"


@dataclass(frozen=True, slots=True)
class EngineStateChanged(Event):
    """Mode, paused, halted, killed."""

    state: EngineState

    @property
    def key(self) -> str | None:
        return "state"


@dataclass(frozen=True, slots=True)
class BookChanged(Event):
    """Top of one book changed (coalesced per token)."""

    top: BookTop

    @property
    def key(self) -> str | None:
        return f"book:{self.top.token_id}"


@dataclass(frozen=True, slots=True)
class MarketResolved(Event):
    """A market resolved; positions in it settle."""

    condition_id: str
    winning_token_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Notice(Event):
    """A human-readable line for the log pane / toasts / daemon log."""

    level: str
    message: str
    component: str = "engine"
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Snapshot(Event):
    """Everything a newly attached client needs before the live stream."""

    state: EngineState
    positions: tuple[Position, ...]
    intents: tuple[TradeIntent, ...]
    signals: tuple[Signal, ...]
    pnl: PnLSnapshot
    feeds: tuple[FeedStatus, ...]
    risk: RiskSnapshot
