"""What the console sees: the engine's changes as bus events, and the recent signals.

The engine decides and journals; the publisher tells. It is the only object that publishes
the engine's events, and it keeps what a newly attached client needs beyond the portfolio
(the engine's flags as last published, the recent signals).
"""

from __future__ import annotations

import logging
from datetime import datetime

from polytui import events as ev
from polytui.bus import EventBus
from polytui.clock import Clock
from polytui.engine.ports import Books, Portfolio, Strategy
from polytui.engine.signals import SignalBook
from polytui.model import (
    EngineState,
    FeedStatus,
    IntentStatus,
    Order,
    RiskSnapshot,
    Signal,
    SignalStatus,
    TradeIntent,
)

log = logging.getLogger("polytui.engine")

LOG_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


class Publisher:
    """Publishes signals, intents, orders, the portfolio, the flags and notices."""

    def __init__(
        self,
        bus: EventBus,
        portfolio: Portfolio,
        strategy: Strategy,
        clock: Clock,
        *,
        mode: str,
        demo: bool,
    ) -> None:
        self.bus = bus
        self.portfolio = portfolio
        self.strategy = strategy
        self.clock = clock
        self.mode = mode
        self.demo = demo
        self.signals = SignalBook()
        self.state = EngineState(mode=mode, demo=demo)

    def signal(self, signal: Signal) -> None:
        """A new or changed signal (kept among the recent ones)."""
        self.signals.remember(signal)
        self.bus.publish(ev.SignalUpdated(signal))

    def signal_status(self, intent_id: str, status: SignalStatus, reason: str) -> None:
        """The outcome of the signal behind ``intent_id``, if it is still kept."""
        updated = self.signals.set_status(intent_id, status, reason)
        if updated is not None:
            self.bus.publish(ev.SignalUpdated(updated))

    def intent(self, intent: TradeIntent) -> None:
        """An intent's new state."""
        self.bus.publish(ev.IntentUpdated(intent))

    def intent_if_known(self, intent_id: str) -> None:
        """An intent's state as the approval queue has it, and its signal's if decided."""
        intent = self.strategy.approvals.get(intent_id)
        if intent is not None:
            self.intent(intent)
            if intent.status is not IntentStatus.PENDING:
                self.signal_status(intent.id, SignalStatus(intent.status.value), intent.reason)

    def order(self, order: Order) -> None:
        """One status of an order."""
        self.bus.publish(ev.OrderUpdated(order))

    def books_changed(self, books: Books, tokens: list[str]) -> None:
        """The tops of the books that changed (coalesced per token since the last tick)."""
        for token_id in tokens:
            book = books.get(token_id)
            if book is not None:
                self.bus.publish(ev.BookChanged(book.top()))

    def health(self, feeds: tuple[FeedStatus, ...], risk: RiskSnapshot) -> None:
        """Every feed's health rows and RiskGuard's limits in use."""
        self.bus.publish(ev.FeedStatusChanged(feeds))
        self.bus.publish(ev.RiskChanged(risk))

    def portfolio_changed(self) -> None:
        """Positions and P&L."""
        now = self.clock.now()
        self.bus.publish(ev.PositionsChanged(tuple(self.portfolio.positions_by_resolution(now))))
        self.bus.publish(ev.PnLChanged(self.portfolio.pnl()))

    def flags(self, journal_fault: str) -> None:
        """The engine's flags (paused, killed, halted and why); a journal that cannot be
        written halts new entries as the daily-loss limit does."""
        risk = self.strategy.risk
        self.state = EngineState(
            mode=self.mode,
            paused=risk.paused,
            killed=risk.killed,
            halted=risk.halted or bool(journal_fault),
            halt_reason=journal_fault or risk.halt_reason,
            demo=self.demo,
        )
        self.bus.publish(ev.EngineStateChanged(self.state))

    def market_resolved(self, condition_id: str, winning_token_id: str, at: datetime) -> None:
        """A market's result, as settled."""
        self.bus.publish(ev.MarketResolved(condition_id, winning_token_id, at))

    def notice(self, level: str, message: str, component: str = "engine") -> None:
        """Log and publish a line for the operator."""
        log.log(LOG_LEVELS.get(level, logging.INFO), message)
        self.bus.publish(ev.Notice(level, message, component))
