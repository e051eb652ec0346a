"""Fee formulas: the 2026 curved taker fee, and the fallback schedule for markets without one.

2026 (PROTOCOL.md §6): ``fee = shares × rate × (p·(1−p))^exponent``, charged to the taker only
when the schedule says ``taker_only``; makers pay nothing. Published checks: rate 0.25, exponent 2,
100 shares at 0.50 → 1.5625; rate 0.07, exponent 1, 25 shares at 0.64 → 0.4032. Fees are kept at
pUSD's 6 decimals, rounded half-even.
"""

from __future__ import annotations

from decimal import Decimal

from polytui.model import ONE, ZERO, FeeSchedule, usd


def taker_fee(shares: Decimal, price: Decimal, schedule: FeeSchedule | None) -> Decimal:
    """Taker fee in USD for ``shares`` at ``price`` under a market's schedule (None = free)."""
    if schedule is None or schedule.rate <= 0 or shares <= 0:
        return ZERO
    curve = (price * (ONE - price)) ** schedule.exponent
    return usd(shares * schedule.rate * curve)


def schedule_or_fallback(
    schedule: FeeSchedule | None, fallback_rate: Decimal, fallback_exponent: int
) -> FeeSchedule | None:
    """The market's schedule, or the configured fallback when a market has none."""
    if schedule is not None:
        return schedule
    if fallback_rate > 0:
        return FeeSchedule(rate=fallback_rate, exponent=fallback_exponent, fee_type="fallback")
    return None
