"""The positions pane: soonest resolution first, < 24 h highlighted, < 1 h urgent."""

from __future__ import annotations

from datetime import UTC, datetime

from textual.app import ComposeResult

from polytui.model import Position
from polytui.tui import fmt
from polytui.tui.pane import Pane
from polytui.tui.state import ConsoleState
from polytui.tui.table import Column, KeyedTable, Row

WIDE = (
    Column("market", "Market", 36),
    Column("outcome", "Outcome", 10),
    Column("shares", "Shares", 7, right=True),
    Column("avg", "Avg", 5, right=True),
    Column("mark", "Mark", 5, right=True),
    Column("upnl", "Unrealized", 10, right=True),
    Column("resolves", "Ends (UTC)", 11),
    Column("left", "In", 19, right=True),
)
COMPACT = (
    Column("market", "Market", 24),
    Column("shares", "Shares", 7, right=True),
    Column("avg", "Avg", 5, right=True),
    Column("mark", "Mark", 5, right=True),
    Column("upnl", "uP&L", 7, right=True),
    Column("left", "Resolves", 19, right=True),
)

TINY = (
    Column("market", "Market", 18),
    Column("shares", "Shares", 7, right=True),
    Column("mark", "Mark", 5, right=True),
    Column("upnl", "uP&L", 7, right=True),
    Column("left", "Ends", 8, right=True),
)

SOON_S = 24 * 3600
URGENT_S = 3600
AWAITING = "awaiting resolution"

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
    WIDE = WIDE
    COMPACT = COMPACT
    TINY = TINY
    COMPACT_MIN_WIDTH = 78
    WIDE_MIN_WIDTH = 96

    def __init__(self, *, id: str = "positions") -> None:
        super().__init__(id=id)
        self._static_cache: dict[str, tuple[object, tuple[bool, bool], tuple[str, str, str]]] = {}

    def compose(self) -> ComposeResult:
        self.table = KeyedTable(self.columns(), id="positions-table")
        yield self.table

    def _static(self, position: Position) -> tuple[str, str, str]:
        # Market, outcome and end time rarely change: format them once per position.
        key = (position.token_id, position.market_question, position.outcome, position.end_time)
        cached = self._static_cache.get(position.token_id)
        if cached is not None and cached[0] == key and cached[1] == (self.compact, self.tiny):
            return cached[2]
        market = position.market_question or position.condition_id
        width = 18 if self.tiny else 24 if self.compact else 36
        end = position.end_time
        static = (
            fmt.clip(market, width),
            fmt.clip(position.outcome, 10),
            end.strftime("%m-%d %H:%M") if end else fmt.DASH,
        )
        self._static_cache[position.token_id] = (key, (self.compact, self.tiny), static)
        return static

    def _cells(self, position: Position, now: datetime) -> tuple[str, ...]:
        end = position.end_time
        if end is None:
            left = fmt.DASH
        elif now >= end:
            left = "awaiting" if self.tiny else AWAITING
        else:
            left = fmt.countdown((end - now).total_seconds())
        market, outcome, resolves = self._static(position)
        mark = position.mark_price
        upnl = fmt.signed_money(position.unrealized_usd) if mark is not None else fmt.DASH
        shares, avg, mark_text = (
            fmt.shares(position.shares),
            fmt.price(position.avg_price),
            fmt.price(mark),
        )
        if self.tiny:
            return (market, shares, mark_text, upnl, left)
        if self.compact:
            return (market, shares, avg, mark_text, upnl, left)
        return (market, outcome, shares, avg, mark_text, upnl, resolves, left)

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
