"""The order rules both brokers apply before an order can exist (PROTOCOL.md §2).

One home for each: the market refusals (no metadata, closed or resolved, not accepting orders)
and their messages, the side-aware tick rounding of a limit price, the market minimum size, and
the CLOB's tick table. The paper broker applies them to simulate an honest refusal; the live
broker applies them so that the CLOB never sees an order it would refuse. Share flooring and
micro-units are lower still, in :mod:`polytui.amounts`, because the strategy's sizing uses them
too and may not import the execution layer.
"""

from __future__ import annotations

from decimal import Decimal

from polytui.amounts import ceil_to, floor_to
from polytui.model import Market, Side

# py-clob-client-v2 ROUNDING_CONFIG: tick → decimals of (price, size, amount).
ROUNDING = {
    Decimal("0.1"): (1, 2, 3),
    Decimal("0.01"): (2, 2, 4),
    Decimal("0.005"): (3, 2, 5),
    Decimal("0.0025"): (4, 2, 6),
    Decimal("0.001"): (3, 2, 5),
    Decimal("0.0001"): (4, 2, 6),
}
# The CLOB refuses a marketable (FAK/FOK) buy worth less than this; such a buy has no share
# minimum (the market's ``min_order_size`` is for orders that may rest).
MIN_MARKETABLE_BUY_USD = Decimal(1)


def round_to_tick(price: Decimal, tick: Decimal, side: Side) -> Decimal:
    """A limit price on the tick grid, never more aggressive than asked (buys down, sells up)."""
    return floor_to(price, tick) if side is Side.BUY else ceil_to(price, tick)


def market_refusal(market: Market | None) -> str | None:
    """Why no order can go to this market now, or None when it can."""
    if market is None:
        return "no market metadata for this token"
    if market.closed or market.resolved:
        return "market is closed"
    if not market.accepting_orders:
        return "market is not accepting orders"
    return None


def below_minimum(shares: Decimal, market: Market) -> str | None:
    """The refusal for an order smaller than the market's minimum size, or None."""
    if shares < market.min_order_size:
        return f"size {shares} is below the market minimum {market.min_order_size}"
    return None


def clob_tick(tick_size: Decimal) -> Decimal | None:
    """The CLOB's own spelling of a market's tick (a key of ``ROUNDING``), or None if unknown."""
    tick = tick_size.normalize()
    return next((t for t in ROUNDING if t == tick), None)
