"""Asking the CLOB what it has: the lost-POST reconciliation and the trade poll.

**A timed-out POST is never sent again.** Instead ``find_order`` asks, each question on its own
so one failing does not skip the others: the order by hash, open orders in the token (by hash,
or by side/size/price/time when the hash is unknown), and recent trades naming the order. The
trade poll is also what follows an order while the user channel is down.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from typing import Any

import httpx

from polytui.amounts import from_micro
from polytui.execution.live.clob_rest import GET_ORDER, OPEN_ORDERS, TRADES, ClobRest, int_of
from polytui.execution.live.errors import LiveError, plain_error, short
from polytui.execution.live.tracking import OrderTracker, TrackedOrder, order_status
from polytui.model import ZERO, BadValue, OrderType, Side, parse_decimal

log = logging.getLogger(__name__)

# What a question to the CLOB may fail with; each one is logged and the next one asked.
RECONCILE_ERRORS = (LiveError, httpx.HTTPError, ValueError)


class OrderLookup:
    """REST questions about one of our orders; answers go into the tracker."""

    def __init__(
        self, clob: ClobRest, tracker: OrderTracker, *, looks: int = 3, gap_s: float = 0.5
    ) -> None:
        self.clob = clob
        self.tracker = tracker
        self.looks = looks
        self.gap_s = gap_s

    async def poll_trades(self, tracked: TrackedOrder) -> None:
        """Recent trades of the order's market, by condition id, into the tracker.

        Not by ``asset_id``: a trade's ``asset_id`` is the *taker's* token, so a resting order
        filled by a taker in the complementary token (a mint or a merge) is listed under the
        other outcome; the market holds both.
        """
        after = str(tracked.signed_ms // 1000 - 5)
        market = tracked.market.condition_id if tracked.market is not None else ""
        query = {"market": market} if market else {"asset_id": tracked.order.token_id}
        for row in await self.clob.paged(TRADES, {**query, "after": after}):
            self.tracker.on_trade(row)

    async def refresh(self, tracked: TrackedOrder) -> None:
        """The order by hash: how much matched and whether it still rests (gone: closed)."""
        row = await self.clob.json("GET", GET_ORDER + tracked.clob_id)
        # A 404 just after the POST may be the CLOB not showing it yet: nothing is concluded
        # (the order stays followed; the timeout's cancel and the user channel settle it).
        if not isinstance(row, dict) or str(row.get("id", "")).lower() != tracked.clob_id:
            return
        row = {**row, "id": tracked.clob_id, "size_matched": str(matched_of(row))}
        self.tracker.on_order_event(row)

    async def find_order(self, tracked: TrackedOrder) -> dict[str, Any] | None:
        """After a lost POST answer: does the CLOB know the order? (by hash, then by shape)."""
        order = tracked.order
        for look in range(self.looks):
            if look:
                await asyncio.sleep(self.gap_s)
            # Each question on its own: one failing must not skip the others.
            try:
                row = await self.clob.json("GET", GET_ORDER + tracked.clob_id)
                if isinstance(row, dict) and str(row.get("id", "")).lower() == tracked.clob_id:
                    return _answer_from_order(row, tracked.clob_id)
            except RECONCILE_ERRORS as exc:
                log.info("reconciling %s by id: %s", short(tracked.clob_id), plain_error(exc))
            try:
                for row in await self.clob.paged(OPEN_ORDERS, {"asset_id": order.token_id}):
                    if _same_order(row, tracked):
                        return _answer_from_order(row, tracked.clob_id)
            except RECONCILE_ERRORS as exc:
                log.info(
                    "reconciling %s in open orders: %s", short(tracked.clob_id), plain_error(exc)
                )
            try:
                await self.poll_trades(tracked)
            except RECONCILE_ERRORS as exc:
                log.info("reconciling %s in trades: %s", short(tracked.clob_id), plain_error(exc))
            if tracked.trades:  # (the user channel may have told us meanwhile, too)
                return {"success": True, "orderID": tracked.clob_id, "status": "matched"}
        return None


def _same_order(row: dict[str, Any], tracked: TrackedOrder) -> bool:
    """An open order that is ours: by hash, or by token/side/size/price and time."""
    if str(row.get("id", "")).lower() == tracked.clob_id:
        return True
    order = tracked.order
    size = order.shares
    if order.side is Side.BUY and tracked.order_type in (OrderType.FAK, OrderType.FOK):
        # The CLOB echoes a market buy's signed makerAmount: its pUSD budget, not shares.
        size = from_micro(tracked.maker_amount)
    try:
        same_shape = (
            str(row.get("asset_id", "")) == order.token_id
            and str(row.get("side", "")).upper() == order.side.value
            and parse_decimal(row.get("original_size"), name="size") == size
            and parse_decimal(row.get("price"), name="price") == order.limit_price
        )
        created = int_of(row.get("created_at"))
    except BadValue:
        return False
    return same_shape and created is not None and created >= tracked.signed_ms // 1000 - 2


def matched_of(row: dict[str, Any]) -> Decimal:
    """An order row's ``size_matched`` as a Decimal ("", missing or bad: 0)."""
    raw = row.get("size_matched")
    if raw in (None, ""):
        return ZERO
    try:
        return parse_decimal(raw, name="size_matched")
    except BadValue:
        return ZERO


def _answer_from_order(row: dict[str, Any], clob_id: str) -> dict[str, Any]:
    """A ``/data/order`` row as a POST answer: live (rests), delayed, matched or canceled."""
    status = order_status(row.get("status"))
    matched = matched_of(row) > 0
    if status in ("LIVE", "DELAYED"):
        mapped = status.lower()
    elif matched:
        mapped = "matched"
    else:
        mapped = "canceled"
    trade_ids = [str(t) for t in row.get("associate_trades") or [] if t]
    return {"success": True, "orderID": clob_id, "status": mapped, "tradeIDs": trade_ids}
