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
    Column("market", "Market"),
    Column("outcome", "Outcome"),
    Column("shares", "Shares", right=True),
    Column("avg", "Avg", right=True),
    Column("mark", "Mark", right=True),
    Column("upnl", "Unrealized", right=True),
    Column("resolves", "Ends (UTC)"),
    Column("left", "In", right=True),
)
COMPACT = (
    Column("market", "Market"),
    Column("shares", "Shares", right=True),
    Column("avg", "Avg", right=True),
    Column("mark", "Mark", right=True),
    Column("upnl", "uP&L", right=True),
    Column("left", "Resolves", right=True),
)

TINY = (
    Column("market", "Market"),
    Column("shares", "Shares", right=True),
    Column("mark", "Mark", right=True),
    Column("upnl", "uP&L", right=True),
    Column("left", "Ends", right=True),
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

    def compose(self) -> ComposeResult:
        self.table = KeyedTable(self.columns(), id="positions-table")
        yield self.table

    def _cells(self, position: Position, now: datetime) -> tuple[str, ...]:
        end = position.end_time
        if end is None:
            left = fmt.DASH
        elif position.awaiting_resolution(now):
            left = "awaiting" if self.tiny else AWAITING
        else:
            left = fmt.countdown((end - now).total_seconds())
        market = position.market_question or position.condition_id
        values = {
            "market": fmt.clip(market, 18 if self.tiny else 24 if self.compact else 36),
            "outcome": fmt.clip(position.outcome, 10),
            "shares": fmt.shares(position.shares),
            "avg": fmt.price(position.avg_price),
            "mark": fmt.price(position.mark_price),
            "upnl": fmt.signed_money(position.unrealized_usd)
            if position.mark_price is not None
            else fmt.DASH,
            "resolves": end.strftime("%m-%d %H:%M") if end else fmt.DASH,
            "left": left,
        }
        return tuple(values[c.key] for c in self.columns())

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
