"""The base of every console pane: a titled box that re-renders from the console state."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from textual import events
from textual.containers import Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable

from polytui.tui.state import ConsoleState
from polytui.tui.table import Column, KeyedTable, fit_columns


class Pane(Vertical):
    """A titled pane. Subclasses implement :meth:`draw` and, if they hold a table, expose it
    as ``table`` so the app can read the selected key.

    The table's columns follow the pane's real inner width: ``COLUMNS`` lists every column a
    pane can show, each saying when it yields (``Column.drop``) and whether it takes the spare
    width (``Column.flex``), so no width ever needs a horizontal scrollbar."""

    TITLE = ""
    """Shown in the pane's border (and in the compact pane tabs)."""

    COLUMNS: tuple[Column, ...] = ()
    """Every column of the pane's table, in display order."""

    class Opened(Message):
        """The operator pressed enter on a row: open its detail dialog."""

        def __init__(self, pane: str, key: str) -> None:
            super().__init__()
            self.pane = pane
            self.key = key

    def __init__(self, *, id: str) -> None:
        super().__init__(id=id, classes="pane")
        self.border_title = self.TITLE
        self.table: KeyedTable | None = None
        self._last: tuple[ConsoleState, datetime] | None = None
        self._fitted: tuple[Column, ...] = fit_columns(self.COLUMNS, 0)

    def columns(self) -> tuple[Column, ...]:
        """The column set for the current width."""
        return self._fitted

    def pick(self, values: Mapping[str, str]) -> tuple[str, ...]:
        """The cells of one row, in the order of the columns shown."""
        return tuple(values[c.key] for c in self._fitted)

    def set_active(self, active: bool) -> None:
        """Mark the pane as the one the keys act on (its border and title say so)."""
        self.set_class(active, "-active")
        self.border_title = f"▶ {self.TITLE}" if active else self.TITLE

    def redraw(self) -> None:
        """Draw again from the last state (after a filter or column change)."""
        if self._last is not None:
            self.draw(*self._last)

    def on_resize(self, event: events.Resize) -> None:
        # Each pane picks its columns from its own inner width, so one layout serves 80 to
        # 250+ columns and the market question gets whatever width is spare.
        fitted = fit_columns(self.COLUMNS, self.size.width)
        if fitted != self._fitted:
            self._fitted = fitted
            if self.table is not None:
                self.table.set_columns(fitted)
                self.redraw()

    def focus_target(self) -> Widget:
        """The widget that takes focus when the pane becomes active."""
        return self.table if self.table is not None else self

    def selected_key(self) -> str | None:
        """The key of the selected row, if the pane has a table."""
        return None if self.table is None else self.table.selected_key

    def refresh_view(self, state: ConsoleState, now: datetime) -> None:
        """Redraw from ``state`` (called only when the pane's data changed or on the 1 s tick)."""
        self._last = (state, now)
        self.draw(state, now)

    def draw(self, state: ConsoleState, now: datetime) -> None:
        """Render ``state``; subclasses implement it."""
        raise NotImplementedError

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None and self.id is not None:
            self.post_message(self.Opened(self.id, event.row_key.value))
