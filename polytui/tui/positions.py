"""The positions pane: soonest resolution first, < 24 h highlighted, < 1 h urgent."""

from __future__ import annotations

from datetime import UTC, datetime

from textual.app import ComposeResult

from polytui.model import Position
from polytui.tui import fmt
from polytui.tui.pane import Pane
from polytui.tui.state import ConsoleState
from polytui.tui.table import Column, KeyedTable, Row

COLUMNS = (
    Column("market", "Market", 12, flex=True, max_width=64),
    Column("outcome", "Outcome", 7),
    Column("shares", "Shares", 7, right=True),
    Column("avg", "Avg", 5, right=True, drop=3),
    Column("mark", "Mark", 5, right=True, drop=2),
    Column("upnl", "uP&L", 8, right=True),
    Column("ends", "Ends (UTC)", 11, drop=4),
    Column("left", "Resolves", 8, right=True),
)

SOON_S = 24 * 3600
URGENT_S = 3600
AWAITING = "awaiting"

_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)


def resolution_order(position: Position) -> tuple[datetime, str]:
    """Sort key: soonest end time first, positions without one last."""
    return (position.end_time or _FAR_FUTURE, position.token_id)


def row_class(position: Position, now: datetime) -> str:
    """``urgent`` under 1 h, ``soon`` under 24 h, ``muted`` once awaiting resolution."""
    if position.awaiting_resolution(now):
        return "muted"
    if position.resolves_within(now, URGENT_S):
        return "urgent"
    if position.resolves_within(now, SOON_S):
        return "soon"
    return ""


class PositionsPane(Pane):
    """Open positions by resolution time; ``c`` closes the selected one (after a confirm)."""

    TITLE = "Positions"
    COLUMNS = COLUMNS

    def __init__(self, *, id: str = "positions") -> None:
        super().__init__(id=id)
        self._static_cache: dict[str, tuple[object, tuple[str, str, str]]] = {}

    def compose(self) -> ComposeResult:
        self.table = KeyedTable(self.columns(), id="positions-table")
        yield self.table

    def _static(self, position: Position) -> tuple[str, str, str]:
        # Market, outcome and end time rarely change: format them once per position.
        key = (position.market_question, position.outcome, position.end_time)
        cached = self._static_cache.get(position.token_id)
        if cached is not None and cached[0] == key:
            return cached[1]
        end = position.end_time
        static = (
            position.market_question or position.condition_id,
            position.outcome,
            end.strftime("%m-%d %H:%M") if end else fmt.DASH,
        )
        self._static_cache[position.token_id] = (key, static)
        return static

    def _cells(self, position: Position, now: datetime) -> tuple[str, ...]:
        end = position.end_time
        if end is None:
            left = fmt.DASH
        elif now >= end:
            left = AWAITING
        else:
            left = fmt.countdown((end - now).total_seconds())
        market, outcome, ends = self._static(position)
        mark = position.mark_price
        values = {
            "market": market,
            "outcome": outcome,
            "shares": fmt.shares(position.shares),
            "avg": fmt.price(position.avg_price),
            "mark": fmt.price(mark),
            "upnl": fmt.signed_money(position.unrealized_usd) if mark is not None else fmt.DASH,
            "ends": ends,
            "left": left,
        }
        return self.pick(values)

    def draw(self, state: ConsoleState, now: datetime) -> None:
        if self.table is None:
            return
        # The engine publishes positions sorted already; sort again so the pane's promise
        # (soonest first) holds for any publisher, e.g. an attached older daemon.
        positions = sorted(state.positions, key=resolution_order)
        rows: list[Row] = [(p.token_id, self._cells(p, now)) for p in positions]
        classes = {p.token_id: row_class(p, now) for p in positions}
        self.table.sync(rows, classes)
        soon = sum(1 for c in classes.values() if c in ("soon", "urgent"))
        self.border_subtitle = f"{len(rows)} open · {soon} < 24h" if rows else "none open"
