"""A market's order book under pressure: fills walk it level by level and it refills over time.

The book is kept in YES-price space. Its resting liquidity sits around the public price ``p``: the
best bid is ``p`` floored to the tick, the best ask one tick above, and every further level holds
about ``depth`` pUSD (a seeded ±40 % per level), in shares at the token's current price. A buy
of YES consumes asks, a buy of NO consumes bids (NO's ask is 1 − YES's bid). What was consumed
comes back exponentially with time constant ``refill_s``: the consumed depth at ``t`` is
Σ shares·exp(−(t − tᵢ)/refill_s) over earlier fills. Fast traders react to a large fill within a
fraction of a second by buying ``frontrun`` × its shares on the same side, which is what a
copier arriving seconds later pays for.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass, field

TICK = 0.01
MIN_PRICE = 0.01
MAX_PRICE = 0.99
LEVELS_SHOWN = 8
_HORIZON = 12.0  # fills older than this many refill times no longer count


def floor_tick(p: float) -> float:
    """``p`` floored to the tick (with a guard against 0.29999999)."""
    return math.floor(p / TICK + 1e-9) * TICK


@dataclass(frozen=True, slots=True)
class Fill:
    """What walking the book bought: shares, average price and the worst level touched."""

    shares: float
    vwap: float
    worst: float
    levels: int


@dataclass(slots=True)
class ImpactBook:
    """The two sides of one market's YES book and the fills that consumed them."""

    depth: float
    refill_s: float
    seed: int
    _times: dict[str, list[float]] = field(default_factory=lambda: {"ask": [], "bid": []})
    _shares: dict[str, list[float]] = field(default_factory=lambda: {"ask": [], "bid": []})

    def level_size(self, side: str, j: int, p_yes: float) -> float:
        """Resting shares at level ``j`` (0 = best) of ``side`` before anything is consumed."""
        h = (self.seed * 1_000_003 + j * 7919 + (1 if side == "ask" else 2) * 104_729) % 10_007
        token_price = p_yes if side == "ask" else 1.0 - p_yes
        return self.depth / max(0.05, token_price) * (0.6 + 0.8 * h / 10_007)

    def levels_gone(self, side: str, p_yes: float, t: float) -> int:
        """How many whole levels of ``side`` are consumed at ``t`` (the best level's index)."""
        gone = self.consumed(side, t)
        j = 0
        while j < 98 and gone >= (size := self.level_size(side, j, p_yes)):
            gone -= size
            j += 1
        return j

    def consumed(self, side: str, t: float) -> float:
        """Shares of ``side`` consumed and not yet refilled at ``t``."""
        times, shares = self._times[side], self._shares[side]
        hi = bisect_right(times, t)
        lo = bisect_right(times, t - _HORIZON * self.refill_s)
        return sum(shares[i] * math.exp(-(t - times[i]) / self.refill_s) for i in range(lo, hi))

    def record(self, side: str, t: float, shares: float) -> None:
        """A fill of ``shares`` on ``side`` at ``t`` (any order of insertion)."""
        times = self._times[side]
        i = bisect_right(times, t)
        times.insert(i, t)
        self._shares[side].insert(i, shares)

    @staticmethod
    def base(p_yes: float) -> tuple[float, float]:
        """(best bid, best ask) in YES space with nothing consumed."""
        bid = min(MAX_PRICE - TICK, max(MIN_PRICE, floor_tick(p_yes)))
        return bid, bid + TICK

    def _price(self, side: str, p_yes: float, j: int) -> float:
        bid, ask = self.base(p_yes)
        if side == "ask":
            return min(MAX_PRICE, ask + j * TICK)
        return max(MIN_PRICE, bid - j * TICK)

    def ladder(
        self, side: str, p_yes: float, t: float, levels: int = LEVELS_SHOWN
    ) -> list[tuple[float, float]]:
        """The visible levels of ``side`` at ``t``, best first: [(YES price, shares)]."""
        gone = self.consumed(side, t)
        out: list[tuple[float, float]] = []
        j = 0
        while len(out) < levels:
            price = self._price(side, p_yes, j)
            size = self.level_size(side, j, p_yes)
            if price in (
                MIN_PRICE,
                MAX_PRICE,
            ):  # the edge of the range: a seller who never runs out
                out.append((price, max(size - gone, self.depth)))
                break
            if gone >= size:
                gone -= size
            else:
                out.append((price, size - gone))
                gone = 0.0
            j += 1
        return out

    def best(self, side: str, p_yes: float, t: float) -> float:
        """Best YES price of ``side`` at ``t`` (impact included)."""
        return self.ladder(side, p_yes, t, levels=1)[0][0]

    def walk(self, side: str, p_yes: float, t: float, shares: float) -> Fill:
        """Buy ``shares`` against ``side`` at ``t`` (the token's price: YES ask or 1 − YES bid)."""
        left = shares
        cost = 0.0
        worst = 0.0
        levels = 0
        gone = self.consumed(side, t)
        j = 0
        while left > 1e-9:
            yes_price = self._price(side, p_yes, j)
            size = self.level_size(side, j, p_yes) - gone
            gone = max(0.0, -size)
            edge = yes_price in (MIN_PRICE, MAX_PRICE)
            if size > 0 or edge:
                take = left if edge else min(left, size)
                token_price = yes_price if side == "ask" else 1.0 - yes_price
                cost += take * token_price
                worst = token_price
                left -= take
                levels += 1
            j += 1
        self.record(side, t, shares)
        return Fill(shares, cost / shares, worst, levels)
