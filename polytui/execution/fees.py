"""Fee formulas: the 2026 curved taker fee, and the fallback schedule for markets without one.

2026 (PROTOCOL.md §6): ``fee = shares × rate × (p·(1−p))^exponent``, charged to the taker only
when the schedule says ``taker_only``; makers pay nothing. The exponent may be fractional. Fees
are kept to 5 decimal places ("the smallest fee charged is 0.00001", docs trading/fees; the
official SDK's ``FEE_DECIMALS = 5``), cut toward zero as the venue charges them: anything below
the smallest fee is not charged. Published checks: rate 0.25, exponent 2, 100 shares at 0.50 →
1.5625, at 0.99 → 0.00245; rate 0.07, exponent 1, 25 shares at 0.64 → 0.4032.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from polytui.model import ONE, ZERO, FeeSchedule

FEE_QUANTUM = Decimal("0.00001")  # fees have 5 decimals


def fee_amount(raw: Decimal) -> Decimal:
    """A raw fee in USD at the venue's 5 decimals (cut, never rounded up)."""
    return raw.quantize(FEE_QUANTUM, rounding=ROUND_DOWN)


def taker_fee(shares: Decimal, price: Decimal, schedule: FeeSchedule | None) -> Decimal:
    """Taker fee in USD for ``shares`` at ``price`` under a market's schedule (None = free)."""
    if schedule is None or schedule.rate <= 0 or shares <= 0 or not ZERO < price < ONE:
        return ZERO
    curve = (price * (ONE - price)) ** schedule.exponent
    return fee_amount(shares * schedule.rate * curve)


def schedule_or_fallback(
    schedule: FeeSchedule | None, fallback_rate: Decimal, fallback_exponent: int
) -> FeeSchedule | None:
    """The market's schedule, or the configured fallback when a market has none."""
    if schedule is not None:
        return schedule
    if fallback_rate > 0:
        return FeeSchedule(rate=fallback_rate, exponent=fallback_exponent, fee_type="fallback")
    return None
