"""The recent signals the console shows, and which intent each signal became.

A bounded cache (the newest ``SIGNALS_KEPT``), so a week-long session keeps a constant size.
Pure state: the engine publishes what changes.
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace

from polytui import events as ev
from polytui.model import Signal, SignalStatus, WhaleTrade

SIGNALS_KEPT = ev.SIGNALS_KEPT


class SignalBook:
    """The newest signals by id, oldest first, and the intent → signal map."""

    def __init__(self, kept: int = SIGNALS_KEPT) -> None:
        self.kept = kept
        self._signals: dict[str, Signal] = {}
        self._order: deque[str] = deque()
        self._intent_signal: dict[str, str] = {}

    def remember(self, signal: Signal) -> None:
        """Keep (or replace) one signal, forgetting the oldest past the bound."""
        if signal.id not in self._signals:
            self._order.append(signal.id)
            while len(self._order) > self.kept:
                self._signals.pop(self._order.popleft(), None)
        self._signals[signal.id] = signal

    def link(self, intent_id: str, signal_id: str) -> None:
        """The intent sized from this signal."""
        self._intent_signal[intent_id] = signal_id

    def set_status(self, intent_id: str, status: SignalStatus, reason: str) -> Signal | None:
        """The signal behind ``intent_id`` with its new status, or None if not kept."""
        signal_id = self._intent_signal.get(intent_id)
        signal = self._signals.get(signal_id) if signal_id else None
        if signal is None:
            return None
        updated = replace(signal, status=status, reason=reason)
        self._signals[signal.id] = updated
        return updated

    def get(self, signal_id: str) -> Signal | None:
        """One kept signal."""
        return self._signals.get(signal_id)

    def holding(self, dedup_key: object) -> list[tuple[Signal, WhaleTrade]]:
        """The kept signals with a trade of this dedup key, and that trade."""
        found: list[tuple[Signal, WhaleTrade]] = []
        for signal in list(self._signals.values()):
            for trade in signal.trades:
                if trade.dedup_key == dedup_key:
                    found.append((signal, trade))
                    break
        return found

    def intents_of(self, signal_id: str) -> list[str]:
        """The intents sized from ``signal_id``."""
        return [i for i, s in self._intent_signal.items() if s == signal_id]

    def recent(self) -> tuple[Signal, ...]:
        """Every kept signal, oldest first."""
        return tuple(self._signals[s] for s in self._order)
