"""The base of every console pane: a titled box that re-renders from the console state."""

from __future__ import annotations

from datetime import datetime

from textual import events
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import DataTable

from polytui.tui.state import ConsoleState
from polytui.tui.table import Column, KeyedTable


class Pane(Vertical):
    """A titled pane. Subclasses implement :meth:`refresh_view` and, if they hold a table,
    expose it as ``table`` so the app can read the selected key."""

    TITLE = ""
    """Shown in the pane's border (and in the compact pane tabs)."""

    compact: reactive[bool] = reactive(False)
    """True when the pane is narrower than ``WIDE_MIN_WIDTH``: fewer columns."""

    WIDE_MIN_WIDTH = 0
    """Inner width the full column set needs; narrower panes switch to compact columns."""

    tiny: reactive[bool] = reactive(False)
    """True when the pane is narrower than ``COMPACT_MIN_WIDTH``: the fewest columns."""

    COMPACT_MIN_WIDTH = 0
    """Inner width the compact column set needs; narrower panes use ``TINY``."""

    class Opened(Message):
        """The operator pressed enter on a row: open its detail dialog."""

        def __init__(self, pane: str, key: str) -> None:
            super().__init__()
            self.pane = pane
            self.key = key

    WIDE: tuple[Column, ...] = ()
    """Columns of the pane's table when it is wide enough."""

    COMPACT: tuple[Column, ...] = ()
    """Columns when narrow (empty: same as ``WIDE``)."""

    TINY: tuple[Column, ...] = ()
    """Columns when very narrow (empty: same as ``COMPACT``)."""

    def __init__(self, *, id: str) -> None:
        super().__init__(id=id, classes="pane")
        self.border_title = self.TITLE
        self.table: KeyedTable | None = None
        self._last: tuple[ConsoleState, datetime] | None = None

    def columns(self) -> tuple[Column, ...]:
        """The column set for the current width."""
        if self.tiny and self.TINY:
            return self.TINY
        return self.COMPACT if self.compact and self.COMPACT else self.WIDE

    def watch_compact(self) -> None:
        self._columns_changed()

    def watch_tiny(self) -> None:
        self._columns_changed()

    def _columns_changed(self) -> None:
        if self.table is not None and self.COMPACT:
            self.table.set_columns(self.columns())
            self.redraw()

    def redraw(self) -> None:
        """Draw again from the last state (after a filter or column change)."""
        if self._last is not None:
            self.draw(*self._last)

    def on_resize(self, event: events.Resize) -> None:
        # Each pane adapts to its own width, so one layout serves 80 to 250+ columns.
        self.compact = event.size.width < self.WIDE_MIN_WIDTH
        self.tiny = event.size.width < self.COMPACT_MIN_WIDTH

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
