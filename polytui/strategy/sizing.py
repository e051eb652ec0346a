"""Confidence and fractional-Kelly sizing, both pure.

Confidence (0..1), in plain words: start from the wallet's shrunk win rate; add up to ±0.10 for
a trade larger or smaller than the wallet usually makes (log scale, 4× = +0.10); add 0.08 per
additional whale in a cluster (at most +0.20); subtract twice the price move since the whale's
fill (the latency tax already paid: 3 cents worse costs 0.06); subtract 0.05 when the market's
end time is unknown. Prices outside the entry band or too close to resolution give 0.

Sizing: the whale's price is the market's probability when it traded; confidence above 0.5 moves
our estimate toward 1 in proportion, ``p = c_w + (confidence − 0.5) × (1 − c_w)``. Buying at an
all-in cost ``c`` per share (book walk average + taker fee per share) that pays 1 if right, the
Kelly fraction is ``f* = (p − c) / (1 − c)``; we bet ``f* × kelly_fraction`` of cash, capped by
``max_bet_usd`` and cash. No edge (``p ≤ c``) means no trade.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from polytui.amounts import floor_shares
from polytui.model import ONE, ZERO, Market, Side, WhaleTrade

CONF_PLACES = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class ConfidenceInputs:
    """Everything confidence depends on (kept for the journal's 'why')."""

    win_rate: Decimal
    size_ratio: Decimal
    cluster_size: int
    price_move: Decimal
    end_known: bool


def confidence(inputs: ConfidenceInputs) -> tuple[Decimal, list[str]]:
    """Confidence in [0, 1] and the reasons that moved it."""
    reasons = [f"win rate {inputs.win_rate:.3f}"]
    value = inputs.win_rate
    if inputs.size_ratio > 0:
        # A log of a dimensionless ratio: not money, so float is fine here.
        size_adj = Decimal(str(round(max(-0.1, min(0.1, 0.05 * math.log2(inputs.size_ratio))), 4)))
        if size_adj:
            reasons.append(f"size {inputs.size_ratio:.2f}× usual: {size_adj:+}")
        value += size_adj
    if inputs.cluster_size > 1:
        bonus = min(Decimal("0.20"), Decimal("0.08") * (inputs.cluster_size - 1))
        reasons.append(f"cluster of {inputs.cluster_size}: +{bonus}")
        value += bonus
    if inputs.price_move > 0:
        penalty = 2 * inputs.price_move
        reasons.append(f"price moved {inputs.price_move} since the whale: -{penalty}")
        value -= penalty
    if not inputs.end_known:
        reasons.append("end time unknown: -0.05")
        value -= Decimal("0.05")
    return max(ZERO, min(ONE, value)).quantize(CONF_PLACES), reasons


def win_probability(whale_price: Decimal, conf: Decimal) -> Decimal:
    """Our estimate that the copied outcome wins."""
    p = whale_price + (conf - Decimal("0.5")) * (ONE - whale_price)
    return max(ZERO, min(Decimal("0.99"), p))


def kelly_fraction(p: Decimal, cost: Decimal) -> Decimal:
    """Full-Kelly fraction for a binary share costing ``cost`` that pays 1; 0 without edge."""
    if cost <= 0 or cost >= 1 or p <= cost:
        return ZERO
    return (p - cost) / (ONE - cost)


@dataclass(frozen=True, slots=True)
class Sizing:
    """The size a trade should have, or zero with the reason."""

    shares: Decimal
    usd: Decimal
    p: Decimal
    cost: Decimal
    fraction: Decimal
    reason: str


def size_trade(
    *,
    p: Decimal,
    avg_price: Decimal,
    fee_per_share: Decimal,
    cash: Decimal,
    kelly_mult: Decimal,
    max_bet_usd: Decimal,
    min_shares: Decimal,
) -> Sizing:
    """Fractional Kelly, capped by max bet and cash, rounded down to 0.01 share."""
    cost = avg_price + fee_per_share
    f_full = kelly_fraction(p, cost)
    if f_full <= 0:
        return Sizing(ZERO, ZERO, p, cost, ZERO, f"no edge: p {p:.3f} ≤ cost {cost:.4f}")
    stake = min(cash * f_full * kelly_mult, max_bet_usd, cash)
    shares = floor_shares(stake / cost)
    if shares < min_shares:
        return Sizing(
            ZERO,
            ZERO,
            p,
            cost,
            f_full,
            f"Kelly stake {stake:.2f} USD buys {shares} shares, below the minimum {min_shares}",
        )
    return Sizing(shares, (shares * cost).quantize(Decimal("0.000001")), p, cost, f_full, "")


def time_left_s(market: Market | None, now: datetime) -> float | None:
    """Seconds until the market ends (None if unknown)."""
    if market is None or market.end_time is None:
        return None
    return (market.end_time - now).total_seconds()


def price_move(trade: WhaleTrade, best_ask: Decimal | None, best_bid: Decimal | None) -> Decimal:
    """How much worse than the whale we would trade now (the latency tax already paid)."""
    if trade.side is Side.BUY:
        return max(ZERO, best_ask - trade.price) if best_ask is not None else ZERO
    return max(ZERO, trade.price - best_bid) if best_bid is not None else ZERO
