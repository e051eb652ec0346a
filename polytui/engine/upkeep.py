"""The engine's periodic work: what changes with time rather than with an event.

Every tick: approvals past their TTL expire, fee-tax probes run, positions are marked to their
books, take-profit and stop-loss exits start, changed books and (once a second) health and risk
are published, equity is snapshotted once a minute, the restart cursor is saved, the journal is
flushed and a journal that starts or stops failing is announced. Run by the engine's tick task,
so it writes as the single writer does.
"""

from __future__ import annotations

from typing import Protocol

from polytui.clock import Clock
from polytui.engine.catchup import CursorKeeper
from polytui.engine.ports import Books, Journal, Portfolio, Strategy
from polytui.engine.publish import Publisher
from polytui.engine.store import StateStore
from polytui.engine.supervisor import FeedSupervisor
from polytui.model import FeedStatus, Order, RiskSnapshot, SignalStatus
from polytui.model.records import intent_to_record

FEED_STATUS_EVERY_S = 1.0
EQUITY_EVERY_S = 60.0


class UpkeepHost(Protocol):
    """What the periodic work needs from the engine it runs in."""

    strategy: Strategy
    portfolio: Portfolio
    books: Books
    journal: Journal
    clock: Clock
    store: StateStore
    cursor: CursorKeeper
    publisher: Publisher
    supervisor: FeedSupervisor

    @property
    def stopping(self) -> bool: ...

    def start_exit(self, order: Order, why: str) -> None: ...

    def feed_statuses(self) -> tuple[FeedStatus, ...]: ...

    def risk_snapshot(self) -> RiskSnapshot: ...

    def publish_state(self) -> None: ...

    def notice(self, level: str, message: str, component: str = ...) -> None: ...


class Upkeep:
    """One tick of periodic work, and when the slower parts last ran."""

    def __init__(self, host: UpkeepHost) -> None:
        self.host = host
        self._last_feed_status = 0.0
        self._last_equity = 0.0

    def tick(self) -> None:
        """Expire intents, mark positions, publish health, snapshot equity, flush."""
        host = self.host
        now = host.clock.now()
        mono = host.clock.monotonic()
        self._expire()
        host.strategy.probe_taxes(host.books.get)
        self._mark_positions()
        for order in host.portfolio.exits_due(now):
            host.start_exit(order, "take-profit / stop-loss")
        host.publisher.books_changed(host.books, host.supervisor.watch.take_dirty())
        if mono - self._last_feed_status >= FEED_STATUS_EVERY_S:
            self._last_feed_status = mono
            host.publisher.health(host.feed_statuses(), host.risk_snapshot())
            host.publish_state()
        if mono - self._last_equity >= EQUITY_EVERY_S:
            self._last_equity = mono
            host.store.record_equity(now)
        host.cursor.save(stopping=host.stopping)
        announcement = host.cursor.announcement()
        if announcement is not None:
            host.notice("info", announcement)
        host.store.save_due()
        host.journal.flush()
        self._watch_journal()

    def _expire(self) -> None:
        host = self.host
        expired = host.strategy.expire_due(host.clock.now())
        if expired:
            host.store.save()
        for intent in expired:
            host.journal.append("intent", intent_to_record(intent), ref=intent.id)
            host.publisher.intent(intent)
            host.publisher.signal_status(intent.id, SignalStatus.EXPIRED, "approval TTL passed")
            host.notice("info", f"intent {intent.id} expired")

    def _watch_journal(self) -> None:
        """Announce a journal that starts or stops failing (the tick retries the writes)."""
        fault = self.host.store.fault_changed()
        if fault is None:
            return
        if fault:
            self.host.notice("error", f"{fault}: new entries halted; exits and kill still work")
        else:
            self.host.notice("info", "the journal is written again: new entries resume")
        self.host.publish_state()

    def _mark_positions(self) -> None:
        host = self.host
        changed = False
        for token_id in host.portfolio.tokens():
            book = host.books.get(token_id)
            if book is None or book.stale:
                continue
            changed |= bool(host.portfolio.mark(token_id, book.best_bid, book.mid))
        if changed:
            host.publisher.portfolio_changed()
