"""A DataTable updated as a keyed diff, with semantic row classes styled from polytui.tcss.

Panes hand :meth:`KeyedTable.sync` the rows they want, in order; the table adds new keys,
removes gone ones, calls ``update_cell`` only for cells whose text changed and reorders rows
without rebuilding them. Rows can carry one semantic class (``soon``, ``urgent``, ``stale``,
``loss``...) that maps to a component class of the same name, so colours stay in the stylesheet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual._two_way_dict import TwoWayDict
from textual.widgets import DataTable
from textual.widgets.data_table import CellKey, ColumnKey, RowKey


@dataclass(frozen=True, slots=True)
class Column:
    """One column: key, header label, width, alignment, and how it yields to a narrow pane.

    Widths are fixed for a given pane width (the table clips text to them) so a flood of new
    rows never makes the table measure cells or shift its columns around. ``drop`` says when
    the column goes as the pane narrows (0: never, higher numbers go first); a ``flex`` column
    (the market question) takes the spare width, up to ``max_width``."""

    key: str
    label: str
    width: int
    right: bool = False
    drop: int = 0
    flex: bool = False
    max_width: int = 0

    @property
    def cell_width(self) -> int:
        """Width the column takes on screen (text plus one space of padding each side)."""
        return max(self.width, len(self.label)) + 2 * CELL_PADDING


# DataTable's default cell padding (one space each side of every cell).
CELL_PADDING = 1
# Kept free for the vertical scrollbar so a long table never needs a horizontal one.
SCROLLBAR = 1


def fit_columns(columns: Sequence[Column], width: int) -> tuple[Column, ...]:
    """The columns that fit in ``width`` cells: the highest ``drop`` goes first (the last
    declared among equals), never a ``drop=0`` column; flex columns share what is left."""
    available = width - SCROLLBAR
    chosen = list(columns)
    while sum(c.cell_width for c in chosen) > available:
        droppable = [c for c in chosen if c.drop > 0]
        if not droppable:
            break
        worst = max(droppable, key=lambda c: (c.drop, chosen.index(c)))
        chosen.remove(worst)
    spare = available - sum(c.cell_width for c in chosen)
    flex = [c for c in chosen if c.flex]
    if spare <= 0 or not flex:
        return tuple(chosen)
    share, extra = divmod(spare, len(flex))
    grown: list[Column] = []
    for column in chosen:
        if column.flex:
            gain = share + (1 if extra > 0 else 0)
            extra -= 1 if extra > 0 else 0
            cap = column.max_width or column.width + gain
            column = replace(column, width=min(cap, column.width + gain))
        grown.append(column)
    return tuple(grown)


Row = tuple[str, tuple[str, ...]]


class KeyedTable(DataTable[Text]):
    """DataTable whose rows are identified by string keys and synced in place."""

    COMPONENT_CLASSES: ClassVar[set[str]] = DataTable.COMPONENT_CLASSES | {
        "soon",
        "urgent",
        "stale",
        "loss",
        "gain",
        "muted",
        "marked-cursor",
    }
    """Row classes a pane may set (styled in polytui.tcss as ``KeyedTable > .soon`` etc.)."""

    def __init__(self, columns: Sequence[Column], **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)  # type: ignore[arg-type]
        self._columns: tuple[Column, ...] = tuple(columns)
        self._cells: dict[str, tuple[str, ...]] = {}
        self._order: list[str] = []
        self._row_class: dict[str, str] = {}
        self.updates = 0
        """Cells written by the last sync (benchmarks and tests read it)."""

    def on_mount(self) -> None:
        self._add_columns()

    def _add_columns(self) -> None:
        for column in self._columns:
            label = Text(column.label, justify="right" if column.right else "left")
            self.add_column(label, width=max(column.width, len(column.label)), key=column.key)

    def _text(self, value: str, index: int) -> Text:
        column = self._columns[index]
        width = max(column.width, len(column.label))
        value = value if len(value) <= width else value[: width - 1] + "…"
        return Text(value, justify="right" if column.right else "left", no_wrap=True)

    @property
    def selected_key(self) -> str | None:
        """Key of the row under the cursor, if any."""
        if not self._order or not self.is_valid_row_index(self.cursor_row):
            return None
        key = self._row_locations.get_key(self.cursor_row)
        return None if key is None else key.value

    @property
    def keys(self) -> list[str]:
        """Row keys in display order."""
        return list(self._order)

    def cells(self, key: str) -> tuple[str, ...] | None:
        """The text of one row, as last synced."""
        return self._cells.get(key)

    def row_class(self, key: str) -> str:
        """The semantic class of one row ('' when plain)."""
        return self._row_class.get(key, "")

    def set_columns(self, columns: Sequence[Column]) -> None:
        """Switch the column set (compact ↔ wide); rows are re-added on the next sync."""
        columns = tuple(columns)
        if columns == self._columns:
            return
        self._columns = columns
        self.clear(columns=True)
        self._cells.clear()
        self._order.clear()
        if self.is_mounted:
            self._add_columns()

    @property
    def column_keys(self) -> tuple[str, ...]:
        """Keys of the columns shown, in order."""
        return tuple(c.key for c in self._columns)

    def sync(
        self,
        rows: Sequence[Row],
        classes: Mapping[str, str] | None = None,
        *,
        follow_top: bool = False,
    ) -> None:
        """Make the table show ``rows`` in this order, touching only what changed.

        The cursor stays on its row wherever that row moves; with ``follow_top`` it goes to
        the first row instead and the view scrolls home (a newest-first feed being watched)."""
        classes = classes or {}
        selected = self.selected_key
        wanted = {key for key, _ in rows}
        written = 0
        gone = [k for k in self._cells if k not in wanted]
        if gone:
            self._remove_rows(gone)
        column_keys = [c.key for c in self._columns]
        for key, cells in rows:
            old = self._cells.get(key)
            if old is None:
                self.add_row(*(self._text(v, i) for i, v in enumerate(cells)), key=key)
                written += len(cells)
            elif old != cells:
                # What update_cell does, minus a cache bump and refresh per cell: a 1,000-row
                # re-mark would otherwise pay both 2,000 times (widths are fixed: no measure).
                data = self._data[RowKey(key)]
                for index, (before, after) in enumerate(zip(old, cells, strict=True)):
                    if before != after:
                        data[ColumnKey(column_keys[index])] = self._text(after, index)
                        written += 1
            self._cells[key] = cells
        if written:
            self._update_count += 1
            self.refresh()
        order = [key for key, _ in rows]
        restyle = self._set_classes(classes)
        if order != self._order or restyle:
            self._order = order
            self._reorder(order)
        self.updates = written
        if follow_top:
            if order and self.cursor_row != 0:
                self.move_cursor(row=0, animate=False, scroll=False)
            if self.scroll_y:
                self.scroll_to(y=0, animate=False)
        elif selected is not None and selected in wanted:
            index = order.index(selected)
            if index != self.cursor_row:
                self.move_cursor(row=index, animate=False, scroll=False)

    def _remove_rows(self, keys: list[str]) -> None:
        # DataTable.remove_row re-indexes every row on each call (O(n) per row, O(n²) for a
        # batch); drop the rows' data the same way it does, then index the survivors once.
        for key in keys:
            row_key = RowKey(key)
            for column_key in self._data.get(row_key, {}):
                self._updated_cells.discard(CellKey(row_key, column_key))
            self._new_rows.discard(row_key)
            del self.rows[row_key]
            del self._data[row_key]
            del self._cells[key]
            self._row_class.pop(key, None)
        gone = set(keys)
        self._order = [k for k in self._order if k not in gone]
        self._row_locations = TwoWayDict({RowKey(k): i for i, k in enumerate(self._order)})
        self._require_update_dimensions = True
        self.cursor_coordinate = self.cursor_coordinate
        self._update_count += 1
        # No layout refresh here: the idle dimension update resizes the table if its row
        # count changed, and a bounded table (signals) usually swaps as many rows as it drops.
        self.refresh()

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        # Every column has a fixed width and every row is one line, so measuring each new
        # cell (what DataTable does here) cannot change anything: only the size is updated.
        super()._update_dimensions(())

    def _set_classes(self, classes: Mapping[str, str]) -> bool:
        new = {k: v for k, v in classes.items() if v and k in self._cells}
        if new == self._row_class:
            return False
        self._row_class = new
        return True

    def _reorder(self, order: list[str]) -> None:
        # DataTable.sort() can only see cell values, not row keys, so set the row positions the
        # same way sort() does; bumping _update_count invalidates the render caches.
        self._row_locations = TwoWayDict({RowKey(k): i for i, k in enumerate(order)})
        self._update_count += 1
        self.refresh()

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> Any:
        # The cursor's background would hide a row's highlight (under 24 h, pending...): on a
        # highlighted row the cursor is drawn as bold underlined text over the highlight.
        if cursor and row_index >= 0 and self._row_class:
            key = self._row_locations.get_key(row_index)
            if key is not None and key.value is not None and self._row_class.get(key.value):
                base_style = base_style + self.get_component_rich_style("marked-cursor")
                cursor = False
        return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)

    def _get_row_style(self, row_index: int, base_style: Style) -> Style:
        style = super()._get_row_style(row_index, base_style)
        if row_index < 0 or not self._row_class:
            return style
        key = self._row_locations.get_key(row_index)
        name = self._row_class.get(key.value) if key is not None and key.value is not None else None
        if name:
            return style + self.get_component_styles(name).rich_style
        return style
