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

COLUMNS = (
    Column("time", "Time", 8),
    Column("wallet", "Wallet", 12, drop=3),
    Column("market", "Market", 16, flex=True),
    Column("trade", "Trade", 11),
    Column("whale", "Whale", 5, right=True, drop=2),
    Column("now", "Now", 5, right=True, drop=4),
    Column("usd", "USD", 7, right=True),
    Column("conf", "Conf", 4, right=True, drop=2),
    Column("src", "Source", 13, drop=4),
    Column("status", "Status", 8),
)

# Sources are named as the health pane names their feeds.
SOURCE_NAMES = {
    "chain": "chain",
    "activity": "activity",
    "dataapi": "dataapi",
    "mempool": "mempool",
}
# A mempool signal whose transaction is not mined yet (tentative: it may be withdrawn).
UNMINED = "unmined"

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
    COLUMNS = COLUMNS

    def __init__(self, *, id: str = "signals", aliases: dict[str, str] | None = None) -> None:
        super().__init__(id=id)
        self.aliases = dict(aliases or {})
        self.filter_text = ""
        self._cell_cache: dict[str, tuple[tuple[object, ...], tuple[str, ...]]] = {}
        # The top row when the trader last watched the top; rows above it are "new".
        self._top_seen: str | None = None
        self._go_home = False

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
        self._go_home = True  # back to the newest rows, not wherever the cursor was
        self.redraw()
        self.focus_target().focus()

    def _following(self) -> bool:
        """True while the trader watches the top (cursor on the newest row, not scrolled)."""
        table = self.table
        if table is None or self._go_home or not table.row_count:
            return True
        return table.cursor_row == 0 and table.scroll_y == 0

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
        key = (signal, top, self.columns())
        cached = self._cell_cache.get(signal.id)
        if cached is not None and cached[0][0] is signal and cached[0][1:] == key[1:]:
            return cached[1]
        cells = self._cells(signal, state)
        self._cell_cache[signal.id] = (key, cells)
        return cells

    def _cells(self, signal: Signal, state: ConsoleState) -> tuple[str, ...]:
        top = state.current_price(signal.token_id)
        current = top.mid if top is not None and top.mid is not None else signal.current_price
        first = fmt.wallet(signal.wallets[0], self.aliases) if signal.wallets else fmt.DASH
        more = f"+{signal.cluster_size - 1}" if signal.cluster_size > 1 else ""
        width = next((c.width for c in self.columns() if c.key == "wallet"), 12)
        source = SOURCE_NAMES.get(signal.source.value, signal.source.value)
        if signal.pending_tx:
            source = UNMINED
        values = {
            "time": signal.created_at.strftime("%H:%M:%S"),
            "wallet": fmt.clip_keep(first, more, width),
            "market": signal.market_question or signal.condition_id,
            "trade": f"{signal.side.value} {fmt.clip(signal.outcome, 7)}",
            "whale": fmt.price(signal.whale_price),
            "now": fmt.price(current),
            "usd": fmt.whole_money(signal.usd),
            "conf": fmt.percent(signal.confidence),
            "src": f"{source} {fmt.seconds(signal.latency_ms / 1000)}"
            if signal.trades
            else fmt.DASH,
            "status": signal.status.value,
        }
        return self.pick(values)

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
        following = self._following()
        self._go_home = False
        self.table.sync(rows, classes, follow_top=following)
        new = 0
        if following:
            self._top_seen = rows[0][0] if rows else None
        elif self._top_seen is not None:
            new = next((i for i, (key, _) in enumerate(rows) if key == self._top_seen), 0)
        if len(self._cell_cache) > 2 * len(state.signals):
            self._cell_cache = {k: v for k, v in self._cell_cache.items() if k in state.signals}
        shown = f"{len(rows)}/{len(state.signals)}" if self.filter_text else str(len(rows))
        subtitle = f"{shown} · /{self.filter_text}" if self.filter_text else shown
        self.border_subtitle = f"{new} new ↑ · {subtitle}" if new else subtitle
        self._show_reason()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        back_on_top = event.cursor_row == 0 and self.table is not None and not self.table.scroll_y
        if back_on_top and "new ↑" in str(self.border_subtitle):
            self.redraw()  # back at the top: the "N new" count goes
        self._show_reason()

    def _show_reason(self) -> None:
        line = self.query_one("#signal-reason", Static)
        key = self.selected_key()
        state = self._last[0] if self._last is not None else None
        signal = state.signals.get(key) if state is not None and key else None
        if signal is None:
            fmt.set_text(line, "")
            return
        same = signal.reason.strip().lower() == signal.status.value
        reason = f": {signal.reason}" if signal.reason and not same else ""
        tentative = " · not yet mined (a pending transaction)" if signal.pending_tx else ""
        fmt.set_text(line, f"{signal.status.value}{reason}{tentative}")
