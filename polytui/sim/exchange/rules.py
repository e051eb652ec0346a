"""The exchange's own order rules: tick, minimum size, GTD lifetime, pUSD rounding, taker fee.

The simulator is the oracle the brokers are tested against, so none of this is imported from
``polytui.execution`` or ``polytui.strategy``: if a broker's fee or rounding drifts from the
exchange's (PROTOCOL.md §6), a test against the simulator fails instead of agreeing with it.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from polytui.sim.scenario import SimMarket

TICK = Decimal("0.01")
MIN_ORDER_SIZE = Decimal(5)  # shares, for orders that may rest (GTC/GTD)
MIN_MARKETABLE_BUY_USD = Decimal(1)  # pUSD, for a buy that takes liquidity (FAK/FOK, crossing)
# GTD (docs trading/orders/create): the expiration must be at least 3 minutes ahead, and the
# order ends a minute before it (the CLOB's security threshold), so it lives at least ~2 minutes.
GTD_MIN_S = 180
GTD_SECURITY_S = 60
MICRO = Decimal("0.000001")  # one base unit of pUSD and of outcome shares (6 decimals)
FEE_QUANTUM = Decimal("0.00001")  # fees have 5 decimals
LEGACY_BASE_FEE_BPS = 1000
ORDER_TYPES = ("GTC", "GTD", "FOK", "FAK")


class ApiError(Exception):
    """An error reply ``{"error": message}`` with an HTTP status."""

    def __init__(self, status: int, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra or {}


def num(value: Decimal) -> str:
    """Decimal → plain string without exponent or trailing zeros ("0.57", "10")."""
    text = format(value.normalize(), "f")
    return text if "." not in text else text.rstrip("0").rstrip(".") or "0"


def usd_up(amount: Decimal) -> Decimal:
    """A notional in pUSD, rounded up to 6 decimals."""
    return amount.quantize(MICRO, rounding=ROUND_CEILING)


def taker_fee(market: SimMarket, shares: Decimal, price: Decimal) -> Decimal:
    """The 2026 curved taker fee ``shares × rate × (p·(1−p))^exponent``, cut to 5 decimals.

    Fees have 5 decimals and anything below the smallest fee (0.00001) is not charged (docs
    trading/fees); the exponent may be fractional. A market without a fee, with a malformed fee
    record or a non-positive rate charges nothing.
    """
    if not market.fee or shares <= 0 or not 0 < price < 1:
        return Decimal(0)
    try:
        rate = Decimal(str(market.fee["rate"]))
        exponent = Decimal(str(market.fee.get("exponent", 1)))
    except (KeyError, ValueError, InvalidOperation):
        return Decimal(0)
    if rate <= 0 or not exponent.is_finite() or exponent < 0:
        return Decimal(0)
    fee = shares * rate * (price * (1 - price)) ** exponent
    return fee.quantize(FEE_QUANTUM, rounding=ROUND_DOWN)


def taker_base_fee(market: SimMarket) -> int:
    """The legacy ``taker_base_fee`` / ``/fee-rate`` ``base_fee`` in bps.

    A V1 field, not the curve's rate: the live 5-minute BTC market (rate 0.07) shows "1000"
    (PROTOCOL.md §6), so a client that reads it as the rate charges 0.1 instead of 0.07.
    """
    return LEGACY_BASE_FEE_BPS if market.fee else 0


def price_on_tick(order_id: str, price: Decimal) -> Decimal:
    """The order's price on the 0.01 tick, or the CLOB's tick-size refusal."""
    on_tick = (price / TICK).quantize(Decimal(1)) * TICK
    if abs(price - on_tick) > TICK / 100 or not TICK <= on_tick <= 1 - TICK:
        shown = num(price.quantize(MICRO)) if price < 1 else num(price)
        raise ApiError(
            400,
            f"order {order_id} is invalid. Price ({shown}) breaks minimum tick size rule: "
            f"{num(TICK)}",
        )
    return on_tick


def check_size(order_id: str, shares: Decimal) -> None:
    """The CLOB's minimum-size refusal."""
    if shares < MIN_ORDER_SIZE:
        raise ApiError(
            400,
            f"order {order_id} is invalid. Size ({num(shares)}) lower than the minimum: "
            f"{num(MIN_ORDER_SIZE)}",
        )


def check_marketable_buy(usd: Decimal) -> None:
    """The CLOB's 1-pUSD minimum for a buy that takes liquidity (it has no share minimum)."""
    if usd < MIN_MARKETABLE_BUY_USD:
        raise ApiError(
            400,
            f"invalid amount for a marketable BUY order (${num(usd)}), min size: "
            f"${num(MIN_MARKETABLE_BUY_USD)}",
        )


def check_fillable(order_type: str, size: Decimal, available: Decimal) -> None:
    """FOK needs the whole size on the book, FAK at least something."""
    if order_type == "FOK" and available < size:
        raise ApiError(
            400, "order couldn't be fully filled. FOK orders are fully filled or killed."
        )
    if order_type == "FAK" and available <= 0:
        raise ApiError(
            400,
            "no orders found to match with FAK order. FAK orders are partially filled or "
            "killed if no match is found.",
        )
