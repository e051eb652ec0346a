"""The simulator's own taker-fee arithmetic (it shares no fee code with the console it judges).

2026 curved schedule (PROTOCOL.md §6): fee = shares × rate × (p·(1 − p))^exponent, taker only.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """One market's taker fee schedule."""

    name: str
    rate: float
    exponent: int
    rebate_rate: float

    def per_share(self, price: float) -> float:
        """Taker fee in pUSD per share bought at ``price``."""
        return self.rate * (price * (1.0 - price)) ** self.exponent

    def wire(self) -> dict[str, object]:
        """The ``feeSchedule`` object Gamma shows for this market."""
        return {
            "exponent": self.exponent,
            "rate": self.rate,
            "takerOnly": True,
            "rebateRate": self.rebate_rate,
        }


FEE_SCHEDULES: dict[str, FeeSchedule | None] = {
    "none": None,
    "crypto_fees_15m": FeeSchedule("crypto_fees_15m", 0.25, 2, 0.2),
    "crypto_fees_v2": FeeSchedule("crypto_fees_v2", 0.07, 1, 0.2),
    "sports_fees_v2": FeeSchedule("sports_fees_v2", 0.05, 1, 0.15),
    "weather_fees": FeeSchedule("weather_fees", 0.05, 1, 0.25),
}


def fee_per_share(schedule: FeeSchedule | None, price: float) -> float:
    """Taker fee per share at ``price`` (0 on a fee-free market)."""
    return 0.0 if schedule is None else schedule.per_share(price)
