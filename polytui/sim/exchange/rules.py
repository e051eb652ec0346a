"""The exchange's own order rules: tick, minimum size, GTD lifetime, pUSD rounding, taker fee.

The simulator is the oracle the brokers are tested against, so none of this is imported from
``polytui.execution`` or ``polytui.strategy``: if a broker's fee or rounding drifts from the
exchange's (PROTOCOL.md §6), a test against the simulator fails instead of agreeing with it.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal, InvalidOperation

from polytui.sim.scenario import SimMarket

TICK = Decimal("0.01")
MIN_ORDER_SIZE = Decimal(5)
GTD_MIN_S = 60  # the CLOB's security threshold: a GTD order must live at least a minute
MICRO = Decimal("0.000001")  # one base unit of pUSD and of outcome shares (6 decimals)
ORDER_TYPES = ("GTC", "GTD", "FOK", "FAK")


class ApiError(Exception):
    """An error reply ``{"error": message}`` with an HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def num(value: Decimal) -> str:
    """Decimal → plain string without exponent or trailing zeros ("0.57", "10")."""
    text = format(value.normalize(), "f")
    return text if "." not in text else text.rstrip("0").rstrip(".") or "0"


def usd_up(amount: Decimal) -> Decimal:
    """A notional in pUSD, rounded up to 6 decimals."""
    return amount.quantize(MICRO, rounding=ROUND_CEILING)


def taker_fee(market: SimMarket, shares: Decimal, price: Decimal) -> Decimal:
    """The 2026 curved taker fee ``shares × rate × (p·(1−p))^exponent``, half-even to 6 dp.

    A market without a fee, with a malformed fee record or a non-positive rate charges nothing.
    """
    if not market.fee or shares <= 0:
        return Decimal(0)
    try:
        rate = Decimal(str(market.fee["rate"]))
        exponent = int(str(market.fee.get("exponent", 1)))
    except (KeyError, ValueError, InvalidOperation):
        return Decimal(0)
    if rate <= 0:
        return Decimal(0)
    fee = shares * rate * (price * (1 - price)) ** exponent
    return fee.quantize(MICRO, rounding=ROUND_HALF_EVEN)


def taker_base_fee(market: SimMarket) -> int:
    """The market's ``taker_base_fee`` in bps as the CLOB's market record shows it."""
    if not market.fee:
        return 0
    return int(Decimal(str(market.fee.get("rate", 0))) * 10_000)


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
