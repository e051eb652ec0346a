"""Folds engine events into the latest view the console draws (no Textual, no I/O).

The app drains its bus subscription in batches and hands each batch to :meth:`ConsoleState.apply`,
which returns which panes changed; only those panes re-render. Keyed events already coalesce in
the subscription (polytui.bus), so a batch holds at most one "positions" or "feeds" event.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from polytui import events as ev
from polytui.model import (
    ZERO,
    BookTop,
    EngineState,
    FeedStatus,
    IntentStatus,
    PnLSnapshot,
    Position,
    RiskSnapshot,
    Signal,
    TradeIntent,
)

# The signals pane keeps this many rows; older signals live in the journal.
MAX_SIGNALS = ev.SIGNALS_KEPT
MAX_LOG_LINES = 200

EMPTY_PNL = PnLSnapshot(
    cash_usd=ZERO,
    equity_usd=ZERO,
    realized_usd=ZERO,
    unrealized_usd=ZERO,
    today_usd=ZERO,
    fees_usd=ZERO,
)


@dataclass(slots=True)
class Changes:
    """What one batch changed: dirty pane names, new prompts and lines worth a toast."""

    dirty: set[str] = field(default_factory=set)
    new_intents: list[str] = field(default_factory=list)
    notices: list[ev.Notice] = field(default_factory=list)


class ConsoleState:
    """The newest value of everything on screen, keyed the way the panes diff it."""

    def __init__(self, max_signals: int = MAX_SIGNALS) -> None:
        self.max_signals = max_signals
        self.engine = EngineState(mode="paper")
        # Insertion order = arrival order; the pane sorts newest first.
        self.signals: OrderedDict[str, Signal] = OrderedDict()
        self.intents: dict[str, TradeIntent] = {}
        self.positions: tuple[Position, ...] = ()
        self.pnl: PnLSnapshot = EMPTY_PNL
        self.feeds: tuple[FeedStatus, ...] = ()
        self.risk = RiskSnapshot(limits=())
        self.books: dict[str, BookTop] = {}
        self.log: deque[ev.Notice] = deque(maxlen=MAX_LOG_LINES)
        # Final states of intents that left the queue, for the detail dialog and toasts.
        self.decided: dict[str, TradeIntent] = {}
        self.dropped_signals = 0

    @property
    def live_orders_open(self) -> bool:
        """True in live mode while approved intents have not reached a final state."""
        if self.engine.mode != "live":
            return False
        return any(i.status is IntentStatus.APPROVED for i in self.decided.values())

    def load(self, snapshot: ev.Snapshot) -> Changes:
        """Start from an engine snapshot (on mount, or after attaching)."""
        self.engine = snapshot.state
        self.signals.clear()
        for signal in snapshot.signals:
            self._put_signal(signal)
        self.intents = {i.id: i for i in snapshot.intents if i.status is IntentStatus.PENDING}
        self.positions = snapshot.positions
        self.pnl = snapshot.pnl
        self.feeds = snapshot.feeds
        self.risk = snapshot.risk
        changes = Changes(dirty=set(PANES))
        changes.new_intents.extend(self.intents)
        return changes

    def apply(self, events: Iterable[ev.Event]) -> Changes:
        """Fold a drained batch of events in arrival order."""
        changes = Changes()
        dirty = changes.dirty
        for event in events:
            if isinstance(event, ev.SignalUpdated):
                self._put_signal(event.signal)
                dirty.add("signals")
            elif isinstance(event, ev.IntentUpdated):
                self._put_intent(event.intent, changes)
            elif isinstance(event, ev.BookChanged):
                self.books[event.top.token_id] = event.top
                dirty.update(("signals", "approvals"))
            elif isinstance(event, ev.PositionsChanged):
                self.positions = event.positions
                dirty.add("positions")
            elif isinstance(event, ev.PnLChanged):
                self.pnl = event.pnl
                dirty.update(("pnl", "header"))
            elif isinstance(event, ev.FeedStatusChanged):
                self.feeds = event.feeds
                dirty.add("health")
            elif isinstance(event, ev.RiskChanged):
                self.risk = event.risk
                dirty.update(("risk", "approvals", "header"))
            elif isinstance(event, ev.EngineStateChanged):
                self.engine = event.state
                dirty.update(("header", "risk"))
            elif isinstance(event, ev.Notice):
                self.log.append(event)
                changes.notices.append(event)
                dirty.add("log")
            elif isinstance(event, ev.Snapshot):
                loaded = self.load(event)
                dirty.update(loaded.dirty)
                changes.new_intents.extend(loaded.new_intents)
        return changes

    def _put_signal(self, signal: Signal) -> None:
        if signal.id not in self.signals and len(self.signals) >= self.max_signals:
            self.signals.popitem(last=False)
            self.dropped_signals += 1
        self.signals[signal.id] = signal

    def _put_intent(self, intent: TradeIntent, changes: Changes) -> None:
        if intent.status is IntentStatus.PENDING:
            if intent.id not in self.intents:
                changes.new_intents.append(intent.id)
            self.intents[intent.id] = intent
        else:
            self.intents.pop(intent.id, None)
            self.decided[intent.id] = intent
            if len(self.decided) > MAX_SIGNALS:
                self.decided.pop(next(iter(self.decided)))
        changes.dirty.add("approvals")

    def current_price(self, token_id: str) -> BookTop | None:
        """The live top of book for a token, if the engine published one."""
        return self.books.get(token_id)


PANES = ("header", "signals", "approvals", "positions", "pnl", "health", "risk", "log")
