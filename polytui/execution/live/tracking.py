"""User-channel tracking: the orders we sent and their trades, MATCHED to CONFIRMED or FAILED.

Pure state, no I/O: the feed adapter (:mod:`polytui.feeds.user`) parses the user channel's
frames into event dicts and hands them to ``OrderTracker.on_event``; the broker's REST polling
hands trade rows to ``on_trade`` the same way. Every change goes out through three callbacks
(an order status, a journal record, a late fill). **A fill exists only at CONFIRMED**, once
per trade id, even when the channel and the poll both report it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from polytui.clock import Clock
from polytui.execution.broker import fill_of
from polytui.execution.fees import taker_fee
from polytui.execution.live.errors import short
from polytui.model import (
    MICRO,
    ZERO,
    BadValue,
    Fill,
    Market,
    Order,
    OrderStatus,
    OrderType,
    parse_decimal,
)

log = logging.getLogger(__name__)

TRADE_STATUSES = {
    "MATCHED": OrderStatus.MATCHED,
    "MINED": OrderStatus.MINED,
    "CONFIRMED": OrderStatus.CONFIRMED,
    "RETRYING": OrderStatus.RETRYING,
    "FAILED": OrderStatus.FAILED,
}
TERMINAL_TRADE = frozenset({"CONFIRMED", "FAILED"})
CLOSED_ORDER = frozenset({"CANCELED", "CANCELLED", "MATCHED", "INVALID", "EXPIRED"})
# Order statuses as the CLOB spells their base; longer first, so UNMATCHED is not MATCHED.
ORDER_STATUSES = (
    "UNMATCHED",
    "CANCELLED",
    "CANCELED",
    "MATCHED",
    "DELAYED",
    "INVALID",
    "EXPIRED",
    "LIVE",
)


def trade_status(raw: object) -> str:
    """A trade status in the user channel's plain form, whichever form it came in.

    REST endpoints (``/data/trades``) send the prefixed constants (``TRADE_STATUS_CONFIRMED``);
    the user channel sends ``CONFIRMED``. ``MATCHED_NOT_BROADCASTED`` (REST only) is a match
    not yet sent to the chain: pending, read as MATCHED. Anything unknown is "".
    """
    status = str(raw or "").strip().upper().removeprefix("TRADE_STATUS_")
    if status == "MATCHED_NOT_BROADCASTED":
        return "MATCHED"
    return status if status in TRADE_STATUSES else ""


def order_status(raw: object) -> str:
    """An order status's base (``LIVE``, ``CANCELED`` …), whichever form it came in.

    REST sends ``ORDER_STATUS_LIVE`` / ``ORDER_STATUS_CANCELED_MARKET_RESOLVED``; the user
    channel sends ``LIVE``, and a killed FOK ``CANCELED_order couldn't be fully filled…``: the
    prefix and any ``_reason`` suffix are dropped. Anything unknown is returned upper-cased.
    """
    status = str(raw or "").strip().upper().removeprefix("ORDER_STATUS_")
    for base in ORDER_STATUSES:
        if status == base or status.startswith(base + "_"):
            return "CANCELED" if base == "CANCELLED" else base
    return status


EmitHook = Callable[[Order, list[Order]], None]
RecordHook = Callable[[str, str, dict[str, Any]], None]
FillHook = Callable[[Fill], None]


@dataclass(slots=True)
class Trade:
    """One side of a CLOB trade that is ours."""

    status: str
    shares: Decimal
    price: Decimal
    maker: bool
    tx: str = ""
    applied: bool = False


@dataclass(slots=True)
class TrackedOrder:
    """One order we sent, from signing to its last trade."""

    order: Order
    clob_id: str
    market: Market | None
    signed_ms: int
    maker_amount: int
    taker_amount: int
    order_type: OrderType
    sized_price: Decimal = ZERO
    whale_price: Decimal = ZERO
    source: str = ""
    expected_trades: set[str] = field(default_factory=set)
    trades: dict[str, Trade] = field(default_factory=dict)
    resting: bool = False
    closed: bool = False
    cancel_tried: bool = False
    size_matched: Decimal = ZERO
    waiting: bool = False
    fills: list[Fill] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    history: list[Order] = field(default_factory=list)
    last_status: OrderStatus = OrderStatus.NEW

    def is_final(self) -> bool:
        """Every trade final, none still expected, and nothing left resting."""
        trades = self.trades
        if any(t.status not in TERMINAL_TRADE for t in trades.values()):
            return False
        if self.expected_trades - set(trades):
            return False
        if self.resting:
            # Closed with more matched than the trades we know of: those trades are still to
            # come (the order's update can overtake its trades), so it is not finished yet.
            known = sum((t.shares for t in trades.values()), ZERO)
            if self.size_matched > known:
                return False
            return self.closed or self.size_matched >= self.order.shares
        return bool(trades) or self.closed

    def outcome(
        self, finished: bool, confirm_timeout_s: float
    ) -> tuple[OrderStatus, str, list[Fill]]:
        """The last status, its reason and the fills the report carries (taken out of here)."""
        order = self.order
        fills = list(self.fills)
        self.fills.clear()
        filled = sum((f.shares for f in fills), ZERO)
        failed = [tid for tid, t in self.trades.items() if t.status == "FAILED"]
        if not finished:
            pending = [t.status for t in self.trades.values() if t.status not in TERMINAL_TRADE]
            reason = (
                f"not final after {confirm_timeout_s:g} s "
                f"({', '.join(pending) or 'no trade yet'}); a fill applies when it confirms"
            )
            return (OrderStatus.PARTIAL if fills else OrderStatus.UNKNOWN), reason, fills
        if fills and filled >= order.shares:
            return OrderStatus.FILLED, "", fills
        if fills:
            return OrderStatus.PARTIAL, f"partial: {filled} of {order.shares}", fills
        if failed:
            reason = f"trade {failed[0][:8]} FAILED on chain; position unchanged"
            return OrderStatus.FAILED, reason, fills
        return OrderStatus.CANCELLED, "no fill", fills


class OrderTracker:
    """Our orders by CLOB id, and the trade ids whose fills were already applied."""

    def __init__(
        self,
        clock: Clock,
        *,
        emit: EmitHook,
        record: RecordHook,
        late_fill: FillHook,
        broker_name: str = "live",
    ) -> None:
        self.clock = clock
        self.broker_name = broker_name
        self._emit = emit
        self._record = record
        self._late_fill = late_fill
        self.orders: dict[str, TrackedOrder] = {}
        self.applied: set[str] = set()

    def track(self, tracked: TrackedOrder, clob_id: str | None = None) -> None:
        """Follow an order under its CLOB id (or a second id the CLOB answered with)."""
        self.orders[clob_id or tracked.clob_id] = tracked

    def get(self, clob_id: str) -> TrackedOrder | None:
        """The order with this CLOB id, if we sent it."""
        return self.orders.get(clob_id)

    def exit_resting(self, token_id: str) -> bool:
        """Whether one of our orders in this token still rests on the book."""
        return any(
            t.resting and not t.closed and t.order.token_id == token_id
            for t in self.orders.values()
        )

    def forget_finished(self, keep: int = 500) -> None:
        """Drop the oldest orders that are over (closed, every trade final) beyond ``keep``."""
        if len(self.orders) <= keep:
            return
        for clob_id, tracked in list(self.orders.items())[: len(self.orders) - keep]:
            done = all(t.status in TERMINAL_TRADE for t in tracked.trades.values())
            if done and not tracked.waiting and (tracked.closed or not tracked.resting):
                del self.orders[clob_id]

    def on_event(self, event: Any) -> None:
        """One user-channel event (already parsed from JSON)."""
        if not isinstance(event, dict):
            return
        kind = str(event.get("event_type", "")).lower()
        if kind == "trade":
            self.on_trade(event)
        elif kind == "order":
            self.on_order_event(event)

    def on_order_event(self, event: dict[str, Any]) -> None:
        """An order update: how much matched, and whether the rest was cancelled."""
        tracked = self.orders.get(str(event.get("id", "")).lower())
        if tracked is None:
            return
        with contextlib.suppress(BadValue):
            matched = parse_decimal(event.get("size_matched", "0"), name="matched")
            tracked.size_matched = max(tracked.size_matched, matched)
        kind = str(event.get("type", "")).upper()
        status = order_status(event.get("status"))
        # Whether an order rests is the POST's answer; a FAK is briefly LIVE here too.
        if status == "MATCHED":
            tracked.closed = True  # fully matched: nothing left on the book
        elif (kind == "CANCELLATION" or status in CLOSED_ORDER) and not tracked.closed:
            tracked.closed = True
            self._emit(
                replace(tracked.order, status=OrderStatus.CANCELLED, reason="remainder cancelled"),
                tracked.history,
            )
        tracked.changed.set()

    def on_trade(self, event: dict[str, Any]) -> None:
        """A trade (user channel or ``/data/trades`` row): every side of it that is ours."""
        trade_id = str(event.get("id", ""))
        status = trade_status(event.get("status"))
        if not trade_id or not status:
            return
        for clob_id, shares, price, maker in our_parts(event, self.orders):
            tracked = self.orders[clob_id]
            known = tracked.trades.get(trade_id)
            if known is not None and known.status == status:
                continue
            if known is not None and known.status in TERMINAL_TRADE:
                continue  # CONFIRMED and FAILED are final; a late echo changes nothing
            trade = known or Trade(status, shares, price, maker)
            trade.status = status
            trade.tx = str(event.get("transaction_hash") or trade.tx)
            tracked.trades[trade_id] = trade
            if maker:
                # Trades and order updates both say how much rested-and-matched: keep the most.
                made = sum((t.shares for t in tracked.trades.values() if t.maker), ZERO)
                tracked.size_matched = max(tracked.size_matched, made)
            self._trade_changed(tracked, clob_id, trade_id, trade)
            tracked.changed.set()

    def _trade_changed(
        self, tracked: TrackedOrder, clob_id: str, trade_id: str, trade: Trade
    ) -> None:
        status = trade.status
        self._record(
            "clob",
            tracked.order.id,
            {
                "event": "trade",
                "clob_id": clob_id,
                "trade_id": trade_id,
                "status": status,
                "shares": str(trade.shares),
                "price": str(trade.price),
                "maker": trade.maker,
                "tx": trade.tx,
            },
        )
        self._emit(
            replace(
                tracked.order,
                status=TRADE_STATUSES[status],
                reason=f"trade {trade_id[:8]}: {trade.shares} @ {trade.price}"
                + (f" tx {short(trade.tx)}" if trade.tx else ""),
            ),
            tracked.history,
        )
        if status == "CONFIRMED" and trade_id not in self.applied:
            self.applied.add(trade_id)
            trade.applied = True
            fill = self.fill(tracked, trade_id, trade)
            if tracked.waiting:
                tracked.fills.append(fill)
            else:
                self._late_fill(fill)

    def fill(self, tracked: TrackedOrder, trade_id: str, trade: Trade) -> Fill:
        """The fill of one confirmed trade; makers pay no fee."""
        market = tracked.market
        schedule = None if market is None else market.fee_schedule
        fee = ZERO if trade.maker else taker_fee(trade.shares, trade.price, schedule)
        return fill_of(
            tracked.order,
            fill_id=f"live-{trade_id}",
            condition_id=market.condition_id if market else "",
            shares=trade.shares,
            avg_price=trade.price,
            fee_usd=fee,
            filled_at=self.clock.now(),
            whale_price=tracked.whale_price,
            source=tracked.source,
        )


def our_parts(
    event: dict[str, Any], orders: Mapping[str, TrackedOrder]
) -> list[tuple[str, Decimal, Decimal, bool]]:
    """(our clob id, shares, price, maker?) for each side of a trade that is ours."""
    parts: list[tuple[str, Decimal, Decimal, bool]] = []
    taker_id = str(event.get("taker_order_id", "")).lower()
    makers = [m for m in event.get("maker_orders") or [] if isinstance(m, dict)]
    try:
        if taker_id in orders:
            shares = parse_decimal(event.get("size"), name="size")
            price = parse_decimal(event.get("price"), name="price", maximum=Decimal(1))
            token = orders[taker_id].order.token_id
            same = [m for m in makers if str(m.get("asset_id", token)) == token]
            if same and len(same) == len(makers):
                average = _taker_average(same)
                if average is not None:
                    price = average
            parts.append((taker_id, shares, price, False))
        for m in makers:
            oid = str(m.get("order_id", "")).lower()
            if oid in orders:
                parts.append(
                    (
                        oid,
                        parse_decimal(m.get("matched_amount"), name="amount"),
                        parse_decimal(m.get("price"), name="price", maximum=Decimal(1)),
                        True,
                    )
                )
    except BadValue as exc:
        log.warning("user channel: dropped a trade with a bad number: %s", exc)
        return []
    return parts


def _taker_average(makers: list[dict[str, Any]]) -> Decimal | None:
    """The taker's average over the maker levels it took (None when nothing matched)."""
    amounts = [parse_decimal(m.get("matched_amount"), name="amount") for m in makers]
    total = sum(amounts, ZERO)
    if total <= 0:
        return None
    cost = sum(
        (
            a * parse_decimal(m.get("price"), name="price")
            for a, m in zip(amounts, makers, strict=True)
        ),
        ZERO,
    )
    price = cost / total
    if -price.as_tuple().exponent > 6:  # type: ignore[operator]
        price = price.quantize(MICRO)
    return price
