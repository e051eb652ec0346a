"""Net copy edge and fractional-Kelly sizing, both pure.

What a copy can earn per share is the whale's edge less what copying costs (``strategy.edge``
explains the estimates). Sizing uses the cautious end of each estimate, so an uncertain edge
counts for little:

    net = (ê − z·se) + cluster boost − max(0, τ̂ + z·se_τ) − fee − spread

``fee`` is our taker fee per share at the price we would pay, ``spread`` how far the book walk
averages above the best ask. A share bought at all-in cost ``c`` (walk average + fee) pays 1 with
probability ``p = c + net``, so the Kelly fraction is ``f* = (p − c) / (1 − c) = net / (1 − c)``.
We stake ``min(f* × kelly_fraction, kelly_cap)`` of cash, at most ``max_bet_usd``. A net edge
at or below ``min_net_edge`` (the margin) is no trade, and the reason carries the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from polytui.amounts import floor_shares, usd
from polytui.display import money
from polytui.display import shares as fmt_shares
from polytui.model import ONE, ZERO, Market
from polytui.settings import StrategySettings
from polytui.strategy.edge import Estimate

PLACES = Decimal("0.0001")


def _c(value: Decimal) -> str:
    """Per-share dollars as signed cents, for reasons: 0.0312 → '+3.12¢'."""
    return f"{value * 100:+.2f}¢"


@dataclass(frozen=True, slots=True)
class NetEdge:
    """The numbers that decide a copy, per share."""

    whale_edge: Decimal  # the lead wallet's shrunk edge ê
    whale_se: Decimal
    whale_lower: Decimal  # ê − z·se
    cluster_boost: Decimal
    tax: Decimal  # expected latency tax τ̂
    tax_se: Decimal
    fee: Decimal
    spread: Decimal
    net: Decimal  # the cautious net edge that sizes (lower bounds)
    estimate: Decimal  # the same with point estimates

    def describe(self) -> str:
        """One line with every term."""
        boost = f" + cluster {_c(self.cluster_boost)}" if self.cluster_boost else ""
        return (
            f"whale edge {_c(self.whale_edge)} ± {self.whale_se * 100:.2f}¢ "
            f"(lower {_c(self.whale_lower)}){boost}, latency tax {_c(self.tax)} "
            f"± {self.tax_se * 100:.2f}¢, fee {self.fee * 100:.2f}¢, spread "
            f"{self.spread * 100:.2f}¢ → net edge {_c(self.net)}"
        )


def cluster_boost(own: str, lowers: dict[str, Decimal], weight: Decimal) -> Decimal:
    """What a cluster adds to the copied wallet ``own``'s edge: ``weight`` × the edge lower
    bound of each other member whose bound is above zero. Members without evidence of skill (a
    herd, new wallets) add nothing, and nothing replaces the copied wallet's own edge."""
    others = (b for w, b in lowers.items() if w != own and b > 0)
    return (weight * sum(others, ZERO)).quantize(PLACES)


def net_edge(
    whale: Estimate,
    tax: Estimate,
    *,
    fee: Decimal,
    spread: Decimal,
    z: Decimal,
    boost: Decimal = ZERO,
) -> NetEdge:
    """The net edge per share of copying a whale whose edge is ``whale``."""
    lower = whale.lower(z)
    # A tax below zero (prices that came back after the whale) is never counted as edge: a
    # copy earns from the whale's information, not from buying after a whale.
    net = lower + boost - max(ZERO, tax.upper(z)) - fee - spread
    point = whale.mean + boost - tax.mean - fee - spread
    return NetEdge(
        whale_edge=whale.mean,
        whale_se=whale.se,
        whale_lower=lower.quantize(PLACES),
        cluster_boost=boost,
        tax=tax.mean,
        tax_se=tax.se,
        fee=fee.quantize(PLACES),
        spread=spread.quantize(PLACES),
        net=net.quantize(PLACES),
        estimate=point.quantize(PLACES),
    )


def kelly_fraction(p: Decimal, cost: Decimal) -> Decimal:
    """Full-Kelly fraction for a binary share costing ``cost`` that pays 1; 0 without edge."""
    if cost <= 0 or cost >= 1 or p <= cost:
        return ZERO
    return (min(p, ONE) - cost) / (ONE - cost)


@dataclass(frozen=True, slots=True)
class Sizing:
    """The size a trade should have, or zero with the reason."""

    shares: Decimal
    usd: Decimal
    p: Decimal
    cost: Decimal
    fraction: Decimal  # of cash, after kelly_fraction and the cap
    reason: str


def size_trade(
    *,
    net: Decimal,
    avg_price: Decimal,
    fee_per_share: Decimal,
    cash: Decimal,
    margin: Decimal,
    kelly_mult: Decimal,
    kelly_cap: Decimal,
    max_bet_usd: Decimal,
    min_shares: Decimal,
) -> Sizing:
    """Fractional Kelly on the net edge, capped, rounded down to 0.01 share."""
    cost = avg_price + fee_per_share
    p = cost + net
    if net <= margin:
        return Sizing(ZERO, ZERO, p, cost, ZERO, f"net edge {_c(net)} ≤ margin {_c(margin)}")
    f_full = kelly_fraction(p, cost)
    fraction = min(f_full * kelly_mult, kelly_cap)
    if fraction <= 0:
        return Sizing(ZERO, ZERO, p, cost, ZERO, f"no edge at cost {cost:.4f}")
    stake = min(cash * fraction, max_bet_usd, cash)
    shares = floor_shares(stake / cost) if stake > 0 else ZERO
    if shares < min_shares:
        return Sizing(
            ZERO,
            ZERO,
            p,
            cost,
            fraction,
            f"Kelly stake {money(stake)} buys {fmt_shares(shares)} shares, "
            f"below the minimum {fmt_shares(min_shares)}",
        )
    return Sizing(shares, usd(shares * cost), p, cost, fraction, "")


def size_on(
    st: StrategySettings,
    *,
    net: Decimal,
    avg_price: Decimal,
    fee_per_share: Decimal,
    cash: Decimal,
    min_shares: Decimal,
) -> Sizing:
    """:func:`size_trade` with ``[strategy]``'s margin, Kelly multiplier, cap and max bet: the
    one place a buy is sized, at entry and again on a second opinion."""
    return size_trade(
        net=net,
        avg_price=avg_price,
        fee_per_share=fee_per_share,
        cash=cash,
        margin=st.min_net_edge,
        kelly_mult=st.kelly_fraction,
        kelly_cap=st.kelly_cap,
        max_bet_usd=st.max_bet_usd,
        min_shares=min_shares,
    )


def time_left_s(market: Market | None, now: datetime) -> float | None:
    """Seconds until the market ends (None if unknown)."""
    if market is None or market.end_time is None:
        return None
    return (market.end_time - now).total_seconds()
