"""Numbers on the wire and on the exchange's grids: parsing, micro-units, rounding to a step.

Every price, share count and USD amount is a ``Decimal``. This module is their one home for
three rules other layers share:

- **Wire numbers** (``parse_decimal`` and friends): parsed once at the feed boundary; floats go
  through ``str`` so ``0.1`` stays ``0.1``; NaN, infinities, booleans and absurd sizes raise
  :class:`BadValue`.
- **Micro-units**: pUSD and outcome shares have 6 decimals on chain, so an integer amount on the
  wire counts units of ``MICRO`` (``Decimal("0.000001")``, the one meaning of the name).
  ``to_micro`` / ``from_micro`` convert; the caller picks the rounding (the CLOB signs amounts
  rounded down, accounting rounds half-even).
- **Grids**: ``floor_to`` / ``ceil_to`` a step (a market's tick, the 0.01-share step).
  ``floor_shares`` is the share rule every order and sizing step applies.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, InvalidOperation

MICRO = Decimal("0.000001")
CENT = Decimal("0.01")
ZERO = Decimal(0)
ONE = Decimal(1)
# Orders carry shares in steps of 0.01 (the CLOB's size precision for every tick size).
SHARE_STEP = Decimal("0.01")


class BadValue(ValueError):
    """A wire value that cannot be a price, size or amount (NaN, negative, absurd, wrong type)."""


def parse_decimal(
    raw: object,
    *,
    name: str = "value",
    minimum: Decimal | None = ZERO,
    maximum: Decimal | None = None,
) -> Decimal:
    """Parse a wire number (``".48"``, ``"0.48"``, ``48``) into a finite Decimal.

    Floats from JSON are converted through ``str`` so ``0.1`` stays ``0.1``. Booleans, NaN,
    infinities and values outside [minimum, maximum] raise :class:`BadValue`.
    """
    if isinstance(raw, bool) or raw is None:
        raise BadValue(f"{name}: expected a number, got {raw!r}")
    if isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, int | float | str):
        text = str(raw).strip()
        if not text or len(text) > 64:
            raise BadValue(f"{name}: not a number: {raw!r:.40}")
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise BadValue(f"{name}: not a number: {raw!r:.40}") from None
    else:
        raise BadValue(f"{name}: expected a number, got {type(raw).__name__}")
    if not value.is_finite():
        raise BadValue(f"{name}: not finite: {raw!r:.40}")
    if minimum is not None and value < minimum:
        raise BadValue(f"{name}: {value} is below {minimum}")
    if maximum is not None and value > maximum:
        raise BadValue(f"{name}: {value} is above {maximum}")
    return value


def parse_price(raw: object, *, name: str = "price") -> Decimal:
    """A probability price in [0, 1]."""
    return parse_decimal(raw, name=name, minimum=ZERO, maximum=ONE)


# A share count above this is treated as garbage (no Polymarket book holds 10^12 shares).
MAX_SHARES = Decimal(10) ** 12


def parse_shares(raw: object, *, name: str = "size") -> Decimal:
    """A non-negative share count below an absurdity bound."""
    return parse_decimal(raw, name=name, minimum=ZERO, maximum=MAX_SHARES)


def to_micro(amount: Decimal, rounding: str = ROUND_HALF_EVEN) -> int:
    """Decimal pUSD or shares → integer micro-units (half-even unless ``rounding`` says)."""
    return int(amount.scaleb(6).to_integral_value(rounding=rounding))


def from_micro(units: int) -> Decimal:
    """Integer micro-units → Decimal, exactly (``5100000`` → ``5.1``)."""
    return Decimal(units) / 1_000_000


def usd(amount: Decimal) -> Decimal:
    """Round a USD amount to pUSD's 6 decimals (half-even)."""
    return amount.quantize(MICRO, rounding=ROUND_HALF_EVEN)


def floor_to(value: Decimal, step: Decimal) -> Decimal:
    """``value`` rounded down to a multiple of ``step`` (a tick or the share step), written with
    ``step``'s places: 200 shares are ``200.00``, never ``2E+2``."""
    return ((value / step).to_integral_value(rounding=ROUND_FLOOR) * step).quantize(step)


def ceil_to(value: Decimal, step: Decimal) -> Decimal:
    """``value`` rounded up to a multiple of ``step`` (plain digits, like ``floor_to``)."""
    return ((value / step).to_integral_value(rounding=ROUND_CEILING) * step).quantize(step)


def floor_shares(shares: Decimal) -> Decimal:
    """A share count down to the 0.01-share step orders carry."""
    return floor_to(shares, SHARE_STEP)
