"""Price-adjusted skill and the latency tax, as estimates with their uncertainty. Pure.

A whale's **edge** on one buy is what a share earned against the price it paid, fees included:
``e = payout − price − fee per share`` (payout 1 or 0, 0.5 each side for a void). A wallet's
edge is the mean over its resolved buys, shrunk toward a prior edge (zero unless a history
profile says otherwise) worth ``k`` pseudo-buys:

    ê = (Σ e + k × prior) / (n + k)

Buys in one market share its outcome, so markets, not buys, are the independent units. With
``S_m`` the sum of ``e`` over the ``n_m`` buys in market ``m``, the variance of ``ê`` is the
cluster-robust one plus the prior's pseudo-buys, each a unit of variance ``VAR0`` (a coin-flip
bet at even odds):

    Var(ê) = (Σ_m (S_m − ê·n_m)² × M/(M−1) + k × VAR0) / (n + k)²

The **latency tax** of a buy is how much worse the best ask is when a copy can trade than the
whale's price: ``τ = ask at our delay − price``. It is learned per wallet and kind of market,
shrunk toward the wallet's tax over every kind, which is shrunk toward the tax of that kind over
every wallet (and that toward zero), each with weight ``k_τ``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Context, Decimal
from typing import Any

ZERO = Decimal(0)
VAR0 = Decimal("0.25")  # variance of one even-odds binary bet: the prior's spread per pseudo-buy
HALF = Decimal("0.5")  # √VAR0
TAX_VAR0 = Decimal("0.0004")  # (2 cents)²: the prior's spread of one tax sample
PLACES = Decimal("0.000001")
SQRT = Context(prec=12)  # a standard error needs no 28 digits (and sqrt is the hot spot)


@dataclass(frozen=True, slots=True)
class Estimate:
    """A mean per share with its standard error, over ``n`` observations in ``units`` groups."""

    mean: Decimal
    se: Decimal
    n: int = 0
    units: int = 0

    def lower(self, z: Decimal) -> Decimal:
        """One-sided lower confidence bound ``mean − z·se``."""
        return self.mean - z * self.se

    def upper(self, z: Decimal) -> Decimal:
        """One-sided upper confidence bound ``mean + z·se``."""
        return self.mean + z * self.se


def _q(value: Decimal) -> Decimal:
    return value.quantize(PLACES)


@dataclass(slots=True)
class EdgeAcc:
    """Running sums of per-share edges, grouped by market."""

    n: int = 0
    units: int = 0
    wins: int = 0
    total: Decimal = ZERO  # Σ e
    sq: Decimal = ZERO  # Σ_m S_m²
    cross: Decimal = ZERO  # Σ_m S_m·n_m
    n2: int = 0  # Σ_m n_m²
    cost_usd: Decimal = ZERO  # Σ shares × (price + fee)
    pnl_usd: Decimal = ZERO  # Σ shares × e

    def add_market(self, buys: list[tuple[Decimal, Decimal, Decimal, Decimal]]) -> None:
        """One resolved market's buys of this wallet: (payout, price, fee per share, shares)."""
        if not buys:
            return
        edges = [payout - price - fee for payout, price, fee, _ in buys]
        s_m = sum(edges, ZERO)
        n_m = len(buys)
        self.n += n_m
        self.units += 1
        self.wins += sum(1 for payout, *_ in buys if payout == 1)
        self.total += s_m
        self.sq += s_m * s_m
        self.cross += s_m * n_m
        self.n2 += n_m * n_m
        for (_, price, fee, shares), e in zip(buys, edges, strict=True):
            self.cost_usd += shares * (price + fee)
            self.pnl_usd += shares * e

    def estimate(self, prior: Decimal = ZERO, weight: int = 0) -> Estimate:
        """The shrunk mean edge per share and its standard error."""
        k = max(0, weight)
        total_n = self.n + k
        if total_n == 0:
            return Estimate(prior, HALF, 0, 0)
        mean = (self.total + k * prior) / total_n
        resid = self.sq - 2 * mean * self.cross + mean * mean * self.n2
        if self.units > 1:
            resid = resid * self.units / (self.units - 1)
        var = (max(ZERO, resid) + k * VAR0) / (total_n * total_n)
        if var == 0:  # one market and no prior: as unsure as a single bet
            var = VAR0 / total_n
        return Estimate(_q(mean), _q(var.sqrt(SQRT)), self.n, self.units)

    @property
    def per_usd(self) -> Decimal:
        """Edge per dollar invested (unshrunk): dollars earned ÷ dollars in."""
        return _q(self.pnl_usd / self.cost_usd) if self.cost_usd else ZERO

    def to_record(self) -> list[Any]:
        """JSON-able."""
        return [
            self.n,
            self.units,
            self.wins,
            str(self.total),
            str(self.sq),
            str(self.cross),
            self.n2,
            str(self.cost_usd),
            str(self.pnl_usd),
        ]

    @classmethod
    def from_record(cls, raw: list[Any] | None) -> EdgeAcc:
        """Inverse of ``to_record``."""
        if not raw:
            return cls()
        n, units, wins, total, sq, cross, n2, cost, pnl = raw
        return cls(
            int(n),
            int(units),
            int(wins),
            Decimal(total),
            Decimal(sq),
            Decimal(cross),
            int(n2),
            Decimal(cost),
            Decimal(pnl),
        )


@dataclass(slots=True)
class TaxAcc:
    """Running sums of latency-tax samples (per share) and of the fee a copy would pay."""

    n: int = 0
    total: Decimal = ZERO
    sq: Decimal = ZERO
    fee: Decimal = ZERO

    def add(self, tax: Decimal, fee: Decimal) -> None:
        """One sample: the best ask at our delay minus the whale's price, and the fee there."""
        self.n += 1
        self.total += tax
        self.sq += tax * tax
        self.fee += fee

    def estimate(self, prior: Estimate, weight: int) -> Estimate:
        """Shrunk toward ``prior`` with ``weight`` pseudo-samples."""
        k = max(0, weight)
        total_n = self.n + k
        if total_n == 0:
            return prior
        mean = (self.total + k * prior.mean) / total_n
        resid = self.sq - 2 * mean * self.total + mean * mean * self.n
        var = (max(ZERO, resid) + k * (TAX_VAR0 + prior.se * prior.se)) / (total_n * total_n)
        return Estimate(_q(mean), _q(var.sqrt(SQRT)), self.n, self.n)

    @property
    def mean_fee(self) -> Decimal:
        """Mean taker fee per share a copy would have paid (0 before any sample)."""
        return _q(self.fee / self.n) if self.n else ZERO

    def to_record(self) -> list[Any]:
        """JSON-able."""
        return [self.n, str(self.total), str(self.sq), str(self.fee)]

    @classmethod
    def from_record(cls, raw: list[Any] | None) -> TaxAcc:
        """Inverse of ``to_record``."""
        if not raw:
            return cls()
        n, total, sq, fee = raw
        return cls(int(n), Decimal(total), Decimal(sq), Decimal(fee))


NO_TAX = Estimate(ZERO, Decimal("0.02"))  # √TAX_VAR0


def market_kind(tags: tuple[str, ...], fee_type: str = "", slug: str = "") -> str:
    """The kind of market a latency tax is learned for: its first tag, else its fee type, else
    its slug without a trailing number."""
    if tags:
        return tags[0].lower()
    if fee_type:
        return fee_type.lower()
    head, _, tail = slug.rpartition("-")
    return (head if tail.isdigit() and head else slug).lower() or "other"
