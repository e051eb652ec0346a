"""The approvals pane: pending intents with expected fill, fees, slippage, headroom and TTL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from textual.app import ComposeResult

from polytui.model import ZERO, Position, Side, TradeIntent
from polytui.tui import fmt
from polytui.tui.pane import Pane
from polytui.tui.state import EMPTY_PNL, ConsoleState
from polytui.tui.table import Column, KeyedTable, Row

COLUMNS = (
    Column("market", "Market", 12, flex=True, max_width=60),
    Column("trade", "Trade", 9),
    Column("shares", "Shares", 7, right=True),
    Column("fill", "Fill", 5, right=True, drop=2),
    Column("usd", "Cost", 7, right=True, drop=3),
    Column("fee", "Fee", 6, right=True, drop=4),
    Column("slip", "vs whale", 8, right=True, drop=3),
    Column("headroom", "Room", 10, right=True, drop=1),
    Column("note", "Note", 8, drop=2),
    Column("whale", "Whale", 10, drop=5),
    Column("ttl", "TTL", 7, right=True),
)

# Short names of the limits a buy can run into, for the Room column.
LIMIT_SHORT = {"market exposure": "mkt", "total exposure": "tot", "cash": "cash"}

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


def market_exposure(condition_id: str, positions: Sequence[Position]) -> Decimal:
    """Cost basis held in one market (what RiskGuard's per-market limit counts)."""
    return sum((p.cost_usd for p in positions if p.condition_id == condition_id), ZERO)


def headroom_after(intent: TradeIntent, state: ConsoleState) -> tuple[str, Decimal] | None:
    """The limit that binds this trade and what it leaves if the trade fills: the trade's
    own market exposure, total exposure, or cash, whichever is tightest (a sell frees room,
    and buying does not consume the daily-loss budget, so neither has one)."""
    if intent.side is not Side.BUY:
        return None
    caps = {limit.name: limit for limit in state.risk.limits if limit.unit == "usd"}
    rooms: dict[str, Decimal] = {}
    market = caps.get("market exposure")
    if market is not None:
        rooms["market exposure"] = market.limit - market_exposure(
            intent.condition_id, state.positions
        )
    total = caps.get("total exposure")
    if total is not None:
        rooms["total exposure"] = total.limit - total.used
    if state.pnl is not EMPTY_PNL:
        rooms["cash"] = state.pnl.cash_usd
    if not rooms:
        return None
    name, room = min(rooms.items(), key=lambda kv: kv[1])
    return name, room - intent.usd - intent.expected_fee_usd


def room_text(room: tuple[str, Decimal] | None) -> str:
    """``$8.07 mkt``: the amount left and which limit it is."""
    if room is None:
        return fmt.DASH
    name, amount = room
    return f"{fmt.money(amount)} {LIMIT_SHORT.get(name, name)}"


def market_notes(intents: Sequence[TradeIntent], state: ConsoleState) -> dict[str, str]:
    """Per intent: ``held`` when a position in its market is open, ``2/3`` when it is the
    second of three trades pending in one market (approving them all stacks one position)."""
    by_market: dict[str, list[TradeIntent]] = {}
    for intent in sorted(intents, key=lambda i: (i.created_at, i.id)):
        by_market.setdefault(intent.condition_id, []).append(intent)
    held = {p.condition_id for p in state.positions}
    notes: dict[str, str] = {}
    for condition_id, group in by_market.items():
        for rank, intent in enumerate(group, start=1):
            parts = ["held"] if condition_id in held else []
            if len(group) > 1:
                parts.append(f"{rank}/{len(group)}")
            notes[intent.id] = " ".join(parts)
    return notes


def ttl_s(intent: TradeIntent, now: datetime) -> float:
    """Seconds until the intent's sized price goes stale."""
    return (intent.expires_at - now).total_seconds()


class ApprovalsPane(Pane):
    """Pending trade intents, soonest expiry first; ``a`` approves, ``x`` rejects."""

    TITLE = "Approvals"
    COLUMNS = COLUMNS

    def __init__(self, *, id: str = "approvals", aliases: dict[str, str] | None = None) -> None:
        super().__init__(id=id)
        self.aliases = dict(aliases or {})

    def compose(self) -> ComposeResult:
        self.table = KeyedTable(self.columns(), id="approvals-table")
        yield self.table

    def _cells(
        self, intent: TradeIntent, state: ConsoleState, now: datetime, note: str
    ) -> tuple[str, ...]:
        fill = expected_fill(intent, state)
        left = ttl_s(intent, now)
        values = {
            "market": intent.market_question or intent.condition_id,
            "trade": f"{intent.side.value} {intent.outcome}",
            "shares": fmt.shares(intent.shares),
            "fill": fmt.price(fill),
            "usd": fmt.money(intent.usd),
            "fee": fmt.money(intent.expected_fee_usd),
            "slip": fmt.cents(slippage_cents(intent, fill)),
            "headroom": room_text(headroom_after(intent, state)),
            "note": note,
            "whale": fmt.wallet(intent.wallet, self.aliases) if intent.wallet else fmt.DASH,
            "ttl": fmt.countdown(left) if left > 0 else "expired",
        }
        shown = {c.key: c for c in self.columns()}
        market = shown.get("market")
        if note and market is not None and "note" not in shown:
            # Too narrow for the Note column: the mark rides on the market, never cut off, and
            # short (the rank tells identical rows apart; "held" alone when it is the only one).
            short = note.rsplit(" ", 1)[-1]
            values["market"] = fmt.clip_keep(values["market"], short, market.width)
        return self.pick(values)

    def draw(self, state: ConsoleState, now: datetime) -> None:
        if self.table is None:
            return
        intents = sorted(state.intents.values(), key=lambda i: (i.expires_at, i.id))
        notes = market_notes(intents, state)
        rows: list[Row] = [(i.id, self._cells(i, state, now, notes[i.id])) for i in intents]
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
