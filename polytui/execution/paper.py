"""The paper broker: fills honestly against the live book, with every real-world friction.

Layer by layer (README, "The paper broker's friction model"): wait the configured latency (the
book moves meanwhile); refuse a stale or missing book, a closed, resolved or not-accepting
market; round the limit price to the market's tick (down for buys, up for sells) and shares down
to 2 decimals; enforce the market's minimum order size; walk the opposite side level by level up
to the limit; refuse a fill whose average price is worse than the price the intent was sized on
by more than the slippage cap; FAK keeps a partial fill, FOK is all or nothing; charge the
market's taker fee (PROTOCOL.md §6). Each fill records the whale's price so the latency tax is
known.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from decimal import Decimal

from polytui.amounts import CENT, MICRO, floor_shares, floor_to
from polytui.clock import Clock
from polytui.display import price as fmt_price
from polytui.display import shares as fmt_shares
from polytui.execution.broker import ExecutionReport, fill_of
from polytui.execution.fees import schedule_or_fallback, taker_fee
from polytui.execution.rules import (
    MIN_MARKETABLE_BUY_USD,
    below_minimum,
    market_refusal,
    round_to_tick,
)
from polytui.feeds.books import BookStore, Walk
from polytui.model import ZERO, Market, Order, OrderStatus, OrderType, Side, new_id
from polytui.settings import PaperSettings


class PaperBroker:
    """Simulated execution against the current book."""

    name = "paper"

    def __init__(
        self,
        settings: PaperSettings,
        books: BookStore,
        clock: Clock,
        *,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.books = books
        self.clock = clock
        self._sleep = sleep

    async def cancel_all(self) -> int:
        """Paper orders never rest, so there is nothing to cancel."""
        return 0

    async def execute(
        self,
        order: Order,
        market: Market | None,
        *,
        sized_price: Decimal,
        whale_price: Decimal,
        source: str = "",
    ) -> ExecutionReport:
        """Wait the latency, then fill against the book as it is then."""
        posted = replace(order, status=OrderStatus.POSTED, broker=self.name)
        if self.settings.latency_ms > 0:
            await self._sleep(self.settings.latency_ms / 1000)
        return self.fill_now(
            posted, market, sized_price=sized_price, whale_price=whale_price, source=source
        )

    def fill_now(
        self,
        order: Order,
        market: Market | None,
        *,
        sized_price: Decimal,
        whale_price: Decimal,
        source: str = "",
    ) -> ExecutionReport:
        """The fill simulation itself (pure over the book at this instant)."""
        history = [order]

        def refuse(reason: str) -> ExecutionReport:
            history.append(replace(order, status=OrderStatus.REJECTED, reason=reason))
            return ExecutionReport(history, [], reason)

        refusal = market_refusal(market)
        if refusal is not None or market is None:
            return refuse(refusal or "no market metadata for this token")
        book = self.books.get(order.token_id)
        if book is None:
            return refuse("no order book for this token")
        if book.stale:
            return refuse("order book is stale")
        tick = market.tick_size
        limit = round_to_tick(order.limit_price, tick, order.side)
        shares = floor_shares(order.shares)
        # As the CLOB: the share minimum is for orders that may rest; a marketable (FAK/FOK)
        # buy needs only 1 pUSD of notional, in whole cents.
        market_buy = order.side is Side.BUY and order.order_type in (OrderType.FAK, OrderType.FOK)
        if market_buy and floor_to(shares * limit, CENT) < MIN_MARKETABLE_BUY_USD:
            return refuse(f"a marketable buy must be worth at least {MIN_MARKETABLE_BUY_USD} pUSD")
        if not market_buy and (small := below_minimum(shares, market)) is not None:
            return refuse(small)
        walk = book.walk(order.side, shares, limit_price=limit)
        if walk.shares <= 0:
            return refuse(f"no liquidity at or better than {fmt_price(limit)}")
        if order.order_type is OrderType.FOK and not walk.complete:
            return refuse(
                f"FOK: only {fmt_shares(walk.shares)} of {fmt_shares(shares)} available "
                f"within {fmt_price(limit)}"
            )
        filled = floor_shares(walk.shares)
        if not market_buy and filled < market.min_order_size:
            return refuse(f"only {fmt_shares(filled)} shares available, below the minimum size")
        walk = book.walk(order.side, filled, limit_price=limit)
        avg = walk.cost_usd / walk.shares
        if (slipped := self._slippage(order.side, avg, sized_price)) is not None:
            return refuse(slipped)
        fee = self._fee(market, walk)
        status = OrderStatus.FILLED if walk.shares >= shares else OrderStatus.PARTIAL
        now = self.clock.now()
        fill = fill_of(
            replace(order, broker=self.name),
            fill_id=new_id("fill"),
            condition_id=market.condition_id,
            shares=walk.shares,
            avg_price=avg.quantize(MICRO),
            fee_usd=fee,
            filled_at=now,
            whale_price=whale_price,
            source=source,
        )
        reason = (
            ""
            if status is OrderStatus.FILLED
            else f"partial: {fmt_shares(walk.shares)} of {fmt_shares(shares)}"
        )
        history.append(replace(order, status=status, reason=reason))
        return ExecutionReport(history, [fill], reason)

    def _slippage(self, side: Side, avg: Decimal, sized_price: Decimal) -> str | None:
        """Why a fill at ``avg`` is refused for slippage past the cap (None when it is not)."""
        cap = self.settings.slippage_cap
        worse = avg - sized_price if side is Side.BUY else sized_price - avg
        if sized_price > 0 and worse > cap:
            return (
                f"slippage {worse.quantize(Decimal('0.0001'))} over the cap {cap} "
                f"(sized at {sized_price}, would fill at {avg.quantize(Decimal('0.0001'))})"
            )
        return None

    def _fee(self, market: Market, walk: Walk) -> Decimal:
        """The taker fee of a walk, at the market's schedule or the configured fallback."""
        schedule = schedule_or_fallback(
            market.fee_schedule,
            self.settings.fallback_fee_rate,
            self.settings.fallback_fee_exponent,
        )
        # The curved fee is per level: each level's shares pay at that level's price.
        return sum((taker_fee(lvl.size, lvl.price, schedule) for lvl in walk.levels), ZERO)
