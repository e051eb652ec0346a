"""The approvals pane: pending intents with expected fill, fees, slippage, headroom and TTL."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from textual.app import ComposeResult

from polytui.model import RiskSnapshot, Side, TradeIntent
from polytui.tui import fmt
from polytui.tui.pane import Pane
from polytui.tui.state import ConsoleState
from polytui.tui.table import Column, KeyedTable, Row

WIDE = (
    Column("market", "Market", 28),
    Column("trade", "Trade", 12),
    Column("shares", "Shares", 7, right=True),
    Column("fill", "Fill", 5, right=True),
    Column("usd", "Cost", 7, right=True),
    Column("fee", "Fee", 6, right=True),
    Column("slip", "vs whale", 8, right=True),
    Column("headroom", "Headroom", 8, right=True),
    Column("ttl", "TTL", 7, right=True),
)
COMPACT = (
    Column("market", "Market", 14),
    Column("trade", "Trade", 9),
    Column("shares", "Shares", 7, right=True),
    Column("fill", "Fill", 5, right=True),
    Column("fee", "Fee", 6, right=True),
    Column("slip", "Slip", 6, right=True),
    Column("headroom", "Room", 7, right=True),
    Column("ttl", "TTL", 7, right=True),
)

TINY = (
    Column("market", "Market", 12),
    Column("trade", "Trade", 9),
    Column("fill", "Fill", 5, right=True),
    Column("slip", "Slip", 6, right=True),
    Column("ttl", "TTL", 7, right=True),
)

# Under this many seconds of TTL the row turns urgent: decide now or it expires.
TTL_URGENT_S = 5.0


def expected_fill(intent: TradeIntent, state: ConsoleState) -> Decimal:
    """The price the trade would take now: best ask to buy, best bid to sell (the live book,
    falling back to the price it was sized on when no book top is known)."""
    top = state.current_price(intent.token_id)
    if top is not None and not top.stale:
        best = top.best_ask if intent.side is Side.BUY else top.best_bid
        if best is not None:
            return best
    return intent.sized_price


def slippage_cents(intent: TradeIntent, fill: Decimal) -> Decimal:
    """Cents per share worse than the whale (positive = we pay more / receive less)."""
    diff = fill - intent.whale_price
    return (diff if intent.side is Side.BUY else -diff) * 100


def headroom_after(intent: TradeIntent, risk: RiskSnapshot) -> Decimal | None:
    """The tightest USD exposure headroom left if this trade fills (loss limits excluded:
    buying does not consume the daily-loss budget)."""
    rooms = [
        limit.headroom - intent.usd
        for limit in risk.limits
        if limit.unit == "usd" and "loss" not in limit.name.lower()
    ]
    return min(rooms) if rooms else None


def ttl_s(intent: TradeIntent, now: datetime) -> float:
    """Seconds until the intent's sized price goes stale."""
    return (intent.expires_at - now).total_seconds()


class ApprovalsPane(Pane):
    """Pending trade intents, soonest expiry first; ``a`` approves, ``x`` rejects."""

    TITLE = "Approvals"
    WIDE = WIDE
    COMPACT = COMPACT
    TINY = TINY
    COMPACT_MIN_WIDTH = 76
    WIDE_MIN_WIDTH = 96

    def compose(self) -> ComposeResult:
        self.table = KeyedTable(self.columns(), id="approvals-table")
        yield self.table

    def _cells(self, intent: TradeIntent, state: ConsoleState, now: datetime) -> tuple[str, ...]:
        fill = expected_fill(intent, state)
        left = ttl_s(intent, now)
        market = intent.market_question or intent.condition_id
        values = {
            "market": fmt.clip(market, 12 if self.tiny else 14 if self.compact else 28),
            "trade": f"{intent.side.value} {fmt.clip(intent.outcome, 5 if self.compact else 8)}",
            "shares": fmt.shares(intent.shares),
            "fill": fmt.price(fill),
            "usd": fmt.money(intent.usd),
            "fee": fmt.money(intent.expected_fee_usd),
            "slip": fmt.cents(slippage_cents(intent, fill)),
            "headroom": fmt.money(headroom_after(intent, state.risk)),
            "ttl": fmt.countdown(left) if left > 0 else "expired",
        }
        return tuple(values[c.key] for c in self.columns())

    def draw(self, state: ConsoleState, now: datetime) -> None:
        if self.table is None:
            return
        intents = sorted(state.intents.values(), key=lambda i: (i.expires_at, i.id))
        rows: list[Row] = [(i.id, self._cells(i, state, now)) for i in intents]
        classes: dict[str, str] = {}
        for intent in intents:
            left = ttl_s(intent, now)
            if left <= 0:
                classes[intent.id] = "muted"
            elif left < TTL_URGENT_S:
                classes[intent.id] = "urgent"
        self.table.sync(rows, classes)
        self.border_subtitle = f"{len(rows)} pending" if rows else "none pending"
        self.set_class(bool(rows), "has-pending")
