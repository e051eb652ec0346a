"""The whale signals pane: newest first, bounded, filterable, status reason on selection."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Input, Static

from polytui.model import Signal, SignalStatus
from polytui.tui import fmt
from polytui.tui.pane import Pane
from polytui.tui.state import ConsoleState
from polytui.tui.table import Column, KeyedTable, Row

WIDE = (
    Column("time", "Time", 8),
    Column("wallet", "Wallet", 12),
    Column("market", "Market", 22),
    Column("trade", "Trade", 11),
    Column("whale", "Whale", 5, right=True),
    Column("now", "Now", 5, right=True),
    Column("usd", "USD", 7, right=True),
    Column("conf", "Conf", 4, right=True),
    Column("n", "N", 2, right=True),
    Column("src", "Source", 11),
    Column("status", "Status", 8),
)
COMPACT = (
    Column("time", "Time", 8),
    Column("wallet", "Wallet", 11),
    Column("market", "Market", 18),
    Column("side", "Side", 4),
    Column("whale", "Px", 5, right=True),
    Column("usd", "USD", 7, right=True),
    Column("status", "Status", 8),
)

# Short names keep the source column narrow (RTDS is the activity firehose).
SOURCE_NAMES = {"chain": "chain", "activity": "rtds", "dataapi": "data"}

ROW_CLASS = {
    SignalStatus.PENDING: "soon",
    SignalStatus.FILLED: "gain",
    SignalStatus.REJECTED: "muted",
    SignalStatus.EXPIRED: "muted",
}


class SignalsPane(Pane):
    """Whale signals, newest first; ``/`` filters by wallet, market, outcome or status."""

    TITLE = "Whale signals"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape", "close_filter", "Clear filter", id="signals.clear_filter", show=False,
            tooltip="Clear and hide the signal filter",
        ),
    ]  # fmt: skip
    WIDE = WIDE
    COMPACT = COMPACT
    WIDE_MIN_WIDTH = 116

    def __init__(self, *, id: str = "signals", aliases: dict[str, str] | None = None) -> None:
        super().__init__(id=id)
        self.aliases = dict(aliases or {})
        self.filter_text = ""
        self._cell_cache: dict[str, tuple[tuple[object, ...], tuple[str, ...]]] = {}

    def compose(self) -> ComposeResult:
        self.table = KeyedTable(self.columns(), id="signals-table")
        yield Input(placeholder="filter: wallet, market, outcome, status", id="signals-filter")
        yield self.table
        yield Static("", id="signal-reason", markup=False)

    def open_filter(self) -> None:
        """Show the filter box and focus it."""
        box = self.query_one("#signals-filter", Input)
        box.add_class("-open")
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.filter_text = event.value.strip().lower()
        self.redraw()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value.strip():
            event.input.remove_class("-open")
        self.focus_target().focus()

    def action_close_filter(self) -> None:
        """Clear and hide the filter box (escape)."""
        self.close_filter()

    def close_filter(self) -> None:
        """Clear and hide the filter box."""
        box = self.query_one("#signals-filter", Input)
        box.value = ""
        box.remove_class("-open")
        self.focus_target().focus()

    def _matches(self, signal: Signal) -> bool:
        if not self.filter_text:
            return True
        haystack = " ".join(
            (
                " ".join(fmt.wallet(w, self.aliases) for w in signal.wallets),
                " ".join(signal.wallets),
                signal.market_question,
                signal.outcome,
                signal.status.value,
                signal.side.value,
            )
        ).lower()
        return self.filter_text in haystack

    def _cached_cells(self, signal: Signal, state: ConsoleState) -> tuple[str, ...]:
        # The engine publishes a new Signal object on every change, so the same object and the
        # same book top mean the same text: 500 rows are not re-formatted on every batch.
        top = state.current_price(signal.token_id)
        key = (signal, top, self.compact)
        cached = self._cell_cache.get(signal.id)
        if cached is not None and cached[0][0] is signal and cached[0][1:] == key[1:]:
            return cached[1]
        cells = self._cells(signal, state)
        self._cell_cache[signal.id] = (key, cells)
        return cells

    def _cells(self, signal: Signal, state: ConsoleState) -> tuple[str, ...]:
        top = state.current_price(signal.token_id)
        current = top.mid if top is not None and top.mid is not None else signal.current_price
        wallets = fmt.wallet(signal.wallets[0], self.aliases) if signal.wallets else fmt.DASH
        if signal.cluster_size > 1:
            wallets += f" +{signal.cluster_size - 1}"
        market = fmt.clip(signal.market_question or signal.condition_id, 18 if self.compact else 22)
        values = {
            "time": signal.created_at.strftime("%H:%M:%S"),
            "wallet": fmt.clip(wallets, 11 if self.compact else 12),
            "market": market,
            "trade": f"{signal.side.value} {fmt.clip(signal.outcome, 7)}",
            "side": signal.side.value,
            "whale": fmt.price(signal.whale_price),
            "now": fmt.price(current),
            "usd": f"${signal.usd:,.0f}",
            "conf": fmt.percent(signal.confidence),
            "n": str(signal.cluster_size),
            "src": f"{SOURCE_NAMES.get(signal.source.value, signal.source.value)}"
            f" {signal.latency_ms / 1000:.1f}s"
            if signal.trades
            else fmt.DASH,
            "status": signal.status.value,
        }
        return tuple(values[c.key] for c in self.columns())

    def draw(self, state: ConsoleState, now: datetime) -> None:
        if self.table is None:
            return
        # Newest first: the state keeps arrival order, created_at breaks ties from replays.
        ordered = sorted(state.signals.values(), key=lambda s: s.created_at, reverse=True)
        rows: list[Row] = []
        classes: dict[str, str] = {}
        for signal in ordered:
            if not self._matches(signal):
                continue
            rows.append((signal.id, self._cached_cells(signal, state)))
            row_class = ROW_CLASS.get(signal.status)
            if row_class:
                classes[signal.id] = row_class
        self.table.sync(rows, classes)
        if len(self._cell_cache) > 2 * len(state.signals):
            self._cell_cache = {k: v for k, v in self._cell_cache.items() if k in state.signals}
        shown = f"{len(rows)}/{len(state.signals)}" if self.filter_text else str(len(rows))
        self.border_subtitle = f"{shown} · /{self.filter_text}" if self.filter_text else shown
        self._show_reason()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._show_reason()

    def _show_reason(self) -> None:
        line = self.query_one("#signal-reason", Static)
        key = self.selected_key()
        state = self._last[0] if self._last is not None else None
        signal = state.signals.get(key) if state is not None and key else None
        if signal is None:
            fmt.set_text(line, "")
            return
        reason = f": {signal.reason}" if signal.reason else ""
        fmt.set_text(line, f"{signal.status.value}{reason}")
