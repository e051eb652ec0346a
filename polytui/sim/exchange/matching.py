"""Order entry and matching: the order rules, the book as the exchange sees it, fills, cancels.

The matching walks the simulator's own book (best level first, at the book's prices, never past
the order's limit, one trade per level) and deliberately shares no code with the paper broker's
``BookStore.walk``: an oracle that reuses what it checks agrees with every bug in it. Liquidity a
fill consumed leaves the book (REST and market WS) until the book's next step.

State: orders, fills, the consumed liquidity per (token, step, side, price), and two fault knobs.
Money moves in :mod:`ledger`; events go out through :mod:`user_channel`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
import uuid
from collections.abc import Coroutine
from decimal import Decimal
from typing import Any

from polytui.sim.exchange.auth import Auth, lower
from polytui.sim.exchange.ledger import Ledger
from polytui.sim.exchange.records import ApiKey, SimFill, SimOrder
from polytui.sim.exchange.rules import (
    GTD_MIN_S,
    GTD_SECURITY_S,
    MICRO,
    ORDER_TYPES,
    ApiError,
    check_fillable,
    check_marketable_buy,
    check_size,
    num,
    price_on_tick,
    taker_fee,
)
from polytui.sim.exchange.user_channel import UserChannel
from polytui.sim.exchange.wire import dataapi_trade, order_event, success
from polytui.sim.scenario import SimMarket
from polytui.sim.world import SimWorld

Levels = list[tuple[Decimal, Decimal]]


class Matcher:
    """Accepts signed orders, matches them against the world's book, and resting orders later."""

    def __init__(self, world: SimWorld, auth: Auth, ledger: Ledger, channel: UserChannel) -> None:
        self.world = world
        self.auth = auth
        self.ledger = ledger
        self.channel = channel
        self.orders: dict[str, SimOrder] = {}
        self.fills: list[SimFill] = []
        self.consumed: dict[tuple[str, int, str, Decimal], Decimal] = {}
        self.counter = 0
        self.fail_next = False
        self.match_delay: float | None = None
        self.delay_rests = False
        self.unmatch_next = False
        self.complement_next = False
        self._tasks: set[asyncio.Task[Any]] = set()

    def _next(self, *parts: object) -> str:
        self.counter += 1
        seed = self.world.scenario.seed
        return hashlib.sha256(repr((seed, self.counter, *parts)).encode()).hexdigest()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Cancel pending settlement and delayed matches."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def market_of(self, token: str) -> tuple[SimMarket, bool]:
        """(market, is_yes) of a token, or the CLOB's 404."""
        found = self.world.token(token)
        if found is None:
            raise ApiError(404, "market not found")
        return found

    # --- the book as the exchange sees it -------------------------------------------------------

    def visible_book(self, token: str, t: float) -> dict[str, Any]:
        """The world's book at ``t`` less the liquidity fills consumed in this step."""
        event = self.world.raw_book(token, t)
        if not self.consumed:
            return event
        step = self.world.step(t)
        for key, book_side in (("bids", "BUY"), ("asks", "SELL")):
            levels = []
            for lvl in event[key]:
                used = self.consumed.get((token, step, book_side, Decimal(lvl["price"])))
                if used:
                    left = Decimal(lvl["size"]) - used
                    if left <= 0:
                        continue
                    lvl = {"price": lvl["price"], "size": num(left)}
                levels.append(lvl)
            event[key] = levels
        return event

    def levels(self, order: SimOrder) -> Levels:
        """Book levels the order can take, best first, net of liquidity already consumed.

        The visible book has this step's consumed liquidity taken out already; it is not taken
        out a second time here."""
        event = self.visible_book(order.token, self.world.now())
        if order.side == "BUY":
            raw = [(Decimal(v["price"]), Decimal(v["size"])) for v in event["asks"]]
            raw.sort(key=lambda lvl: lvl[0])
            usable = [lvl for lvl in raw if lvl[0] <= order.price]
        else:
            raw = [(Decimal(v["price"]), Decimal(v["size"])) for v in event["bids"]]
            raw.sort(key=lambda lvl: -lvl[0])
            usable = [lvl for lvl in raw if lvl[0] >= order.price]
        return [(price, size) for price, size in usable if size > 0]

    # --- order entry ----------------------------------------------------------------------------

    def accept(self, creds: ApiKey, payload: dict[str, Any]) -> SimOrder:
        """Check a ``POST /order`` body against the CLOB's rules, in the CLOB's order."""
        order, order_id = self.auth.verify(creds, payload)
        token = str(order.token_id)
        market, is_yes = self.market_of(token)
        order_type = str(payload.get("orderType", "GTC")).upper()
        if order_type not in ORDER_TYPES:
            raise ApiError(400, "Invalid order payload")
        if self.world.is_resolved(market):
            raise ApiError(400, "the market is not yet ready to process new orders")
        buy = order.side == 0
        shares_micro = order.taker_amount if buy else order.maker_amount
        usd_micro = order.maker_amount if buy else order.taker_amount
        price = price_on_tick(order_id, Decimal(usd_micro) / Decimal(shares_micro))
        shares = Decimal(shares_micro) * MICRO
        if buy and order_type in ("FAK", "FOK"):
            # A market buy is sized in pUSD: the 1 pUSD minimum, not the share minimum.
            check_marketable_buy(Decimal(usd_micro) * MICRO)
        else:
            check_size(order_id, shares)
        expiration = int(payload["order"].get("expiration", 0) or 0)
        if order_type == "GTD" and expiration < int(time.time()) + GTD_MIN_S:
            raise ApiError(400, "invalid expiration")
        if order_id in self.orders:
            raise ApiError(400, f"order {order_id} is invalid. Duplicated.")
        account = self.ledger.account(order.maker)
        orders = self.orders.values()
        # Balance as the ledger has it; allowance as the CLOB has it cached (maybe stale).
        if buy:
            need = Decimal(usd_micro) * MICRO + taker_fee(market, shares, price)
            if need > self.ledger.free_usd(account, orders) or not (
                self.ledger.collateral_allowed(order.maker)
            ):
                raise ApiError(400, "not enough balance / allowance")
        elif shares > self.ledger.free_shares(
            account, token, orders
        ) or not self.ledger.conditional_allowed(order.maker, token):
            raise ApiError(400, "not enough balance / allowance")
        return SimOrder(
            id=order_id,
            owner=creds.key,
            address=lower(creds.address),
            maker=lower(order.maker),
            market=market,
            token=token,
            outcome="Yes" if is_yes else "No",
            side="BUY" if buy else "SELL",
            price=price,
            size=shares,
            order_type=order_type,
            created_at=int(time.time()),
            expiration=expiration,
            post_only=bool(payload.get("postOnly")),
            amount=Decimal(usd_micro) * MICRO,
        )

    async def place(self, creds: ApiKey, payload: dict[str, Any]) -> dict[str, Any]:
        """Accept, then match at once (or later, with ``delay_next_match``); the reply body."""
        order = self.accept(creds, payload)
        levels = self.levels(order)
        if order.post_only and levels:
            raise ApiError(400, "invalid post-only order: order crosses book")
        if order.side == "BUY" and levels:  # a resting buy that crosses takes liquidity too
            check_marketable_buy(order.amount)
        if self.unmatch_next:
            # As after a taker delay that found nothing: placed on the book, "unmatched".
            self.unmatch_next = False
            self.orders[order.id] = order
            await self.channel.order_update(order, "PLACEMENT")
            return success(order.id, "unmatched", [])
        if self.match_delay is not None and (levels or self.delay_rests):
            delay, self.match_delay = self.match_delay, None
            rest, self.delay_rests = self.delay_rests, False
            if not rest:
                check_fillable(order.order_type, order.size, _depth(levels))
            order.status = "DELAYED"
            self.orders[order.id] = order
            await self.channel.order_update(order, "PLACEMENT")
            self._spawn(self._delayed_match(order, delay, rest))
            return success(order.id, "delayed", [])
        check_fillable(order.order_type, order.size, _depth(levels))
        self.orders[order.id] = order
        placement = order_event(order, "PLACEMENT")
        fills = self._take(order, levels, "TAKER")
        killed = self._close_taker(order)
        await self.channel.send_order_event(order, placement)
        await self._announce(order, fills)
        if killed:
            await self.channel.order_update(order, "CANCELLATION")
        return success(order.id, "matched" if fills else "live", fills)

    def seed_open_order(
        self,
        address: str,
        token_id: str,
        side: str,
        price: Decimal | str,
        size: Decimal | str,
        order_type: str = "GTC",
    ) -> str:
        """A LIVE order of ``address`` (owned by its nonce-0 API key) that no client placed."""
        found = self.world.token(token_id)
        if found is None:
            raise KeyError(f"unknown token {token_id}")
        market, is_yes = found
        key = self.auth.api_key(address)
        order = SimOrder(
            id="0x" + self._next("seeded", address, token_id),
            owner=key.key,
            address=lower(key.address),
            maker=lower(address),
            market=market,
            token=token_id,
            outcome="Yes" if is_yes else "No",
            side=side.upper(),
            price=Decimal(str(price)),
            size=Decimal(str(size)),
            order_type=order_type,
            created_at=int(time.time()),
            expiration=0,
        )
        self.orders[order.id] = order
        return order.id

    # --- matching -------------------------------------------------------------------------------

    async def _delayed_match(self, order: SimOrder, delay: float, rest: bool = False) -> None:
        await asyncio.sleep(delay)
        if order.status != "DELAYED":
            return
        order.status = "LIVE"
        levels = [] if rest else self.levels(order)
        if order.order_type == "FOK" and _depth(levels) < order.size:
            levels = []
        await self._announce(order, self._take(order, levels, "TAKER"))
        if self._close_taker(order):
            await self.channel.order_update(order, "CANCELLATION")

    @staticmethod
    def _close_taker(order: SimOrder) -> bool:
        """Settle a taker's status after matching; True when a FAK/FOK remainder was killed."""
        if order.remaining <= 0:
            order.status = "MATCHED"
        elif order.order_type in ("FAK", "FOK"):
            order.status = "CANCELED"
            return True
        return False

    def _take(self, order: SimOrder, levels: Levels, role: str) -> list[SimFill]:
        """Take liquidity and reserve funds, without awaiting (so nothing interleaves)."""
        fills: list[SimFill] = []
        step = self.world.step(self.world.now())
        fail = self.fail_next and bool(levels)
        if fail:
            self.fail_next = False
        book_side = "SELL" if order.side == "BUY" else "BUY"
        for price, size in levels:
            take = min(size, order.remaining)
            if take <= 0:
                break
            key = (order.token, step, book_side, price)
            self.consumed[key] = self.consumed.get(key, Decimal(0)) + take
            fee = taker_fee(order.market, take, price) if role == "TAKER" else Decimal(0)
            fill = self._new_fill(order, role, take, price, fee, fail)
            if role == "MAKER" and self.complement_next:
                self.complement_next = False
                fill.complement = True
            order.matched += take
            order.trades.append(fill.id)
            if order.remaining <= 0:
                order.status = "MATCHED"
            self.ledger.reserve(fill)
            self.fills.append(fill)
            fills.append(fill)
        return fills

    def _new_fill(
        self, order: SimOrder, role: str, size: Decimal, price: Decimal, fee: Decimal, fail: bool
    ) -> SimFill:
        now = int(time.time())
        return SimFill(
            id=str(uuid.UUID(hex=self._next("trade", order.id)[:32], version=4)),
            order=order,
            role=role,
            size=size,
            price=price,
            fee=fee,
            counter_order="0x" + self._next("counter", order.id),
            counter_address="0x" + self._next("counterparty")[:40],
            tx_hash="0x" + self._next("tx", order.id),
            match_time=now,
            last_update=now,
            fail=fail,
        )

    async def _announce(self, order: SimOrder, fills: list[SimFill]) -> None:
        """Send the MATCHED trades, start their settlement, then the order's UPDATE."""
        for fill in fills:
            await self.channel.trade_update(fill)
            self._spawn(self.ledger.settle(fill, self._set_status))
        if fills:
            await self.channel.order_update(order, "UPDATE")

    async def _set_status(self, fill: SimFill, status: str) -> None:
        fill.status = status
        fill.last_update = int(time.time())
        await self.channel.trade_update(fill)

    async def tick(self) -> None:
        """Fill resting orders the book has come to (as maker); expire GTD orders."""
        now = int(time.time())
        for order in list(self.orders.values()):
            if order.status != "LIVE":
                continue
            ends = order.expiration - GTD_SECURITY_S  # a minute before its stated expiry
            if order.order_type == "GTD" and order.expiration and ends <= now:
                order.status = "CANCELED"
                await self.channel.order_update(order, "CANCELLATION")
                continue
            if self.world.is_resolved(order.market):
                continue
            levels = self.levels(order)
            if levels:
                await self._announce(order, self._take(order, levels, "MAKER"))
                if order.remaining <= 0:
                    order.status = "MATCHED"

    # --- cancels and queries --------------------------------------------------------------------

    async def cancel(self, creds: ApiKey, ids: list[str]) -> dict[str, Any]:
        """Cancel the key's open orders among ``ids``; ``{canceled, not_canceled}``."""
        canceled: list[str] = []
        not_canceled: dict[str, str] = {}
        for order_id in ids:
            order = self.orders.get(str(order_id))
            if order is None or order.address != lower(creds.address):
                not_canceled[str(order_id)] = "order not found"
            elif not order.open:
                not_canceled[order_id] = "order can't be found - already canceled or matched"
            else:
                order.status = "CANCELED"
                canceled.append(order_id)
                await self.channel.order_update(order, "CANCELLATION")
        return {"canceled": canceled, "not_canceled": not_canceled}

    async def cancel_all_of(self, address: str) -> list[str]:
        """Cancel every open order placed with ``address``'s keys (the heartbeat switch)."""
        canceled = []
        for order in list(self.orders.values()):
            if order.address == lower(address) and order.open:
                order.status = "CANCELED"
                canceled.append(order.id)
                await self.channel.order_update(order, "CANCELLATION")
        return canceled

    def open_orders(self, creds: ApiKey) -> list[SimOrder]:
        """The key's LIVE and DELAYED orders."""
        address = lower(creds.address)
        return [o for o in self.orders.values() if o.address == address and o.open]

    def dataapi_trades(self, user: str) -> list[dict[str, Any]]:
        """data-api ``/trades`` rows of ``user``'s settled (MINED / CONFIRMED) fills."""
        return [
            dataapi_trade(f)
            for f in self.fills
            if f.order.maker == lower(user) and f.status in ("MINED", "CONFIRMED")
        ]


def _depth(levels: Levels) -> Decimal:
    return sum((size for _, size in levels), Decimal(0))
