"""Small statistics for edge estimates: cluster-robust means, Student-t tails, Holm.

Bets in one market share its outcome, so they are not independent: every standard error here
is cluster-robust by market (condition id), with ``G − 1`` degrees of freedom for ``G`` markets.
These are estimates, not books: they are computed in binary floating point and handed out as
fixed-point Decimal text; money (P&L, cost) stays Decimal in ``profile``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Sample:
    """Settled bets as parallel columns: market (cluster), edge/share, P&L USD, capital, won."""

    cluster: list[str]
    x: list[float]
    e: list[float]
    c: list[float]
    won: list[bool]

    def __len__(self) -> int:
        return len(self.x)


@dataclass(slots=True)
class Accumulator:
    """Running sums for one segment: per-bet edge ``x``, P&L ``e`` and capital ``c`` by cluster."""

    n: int = 0
    wins: int = 0
    sum_x: float = 0.0
    sum_e: float = 0.0
    sum_c: float = 0.0
    # cluster -> [n, Σx, Σe, Σc]
    clusters: dict[str, list[float]] = field(default_factory=dict)
    members: list[int] = field(default_factory=list)

    def add(self, cluster: str, x: float, e: float, c: float, won: bool, index: int = -1) -> None:
        """One bet: per-share edge ``x``, P&L ``e`` USD, capital ``c`` USD."""
        self.n += 1
        self.wins += won
        self.sum_x += x
        self.sum_e += e
        self.sum_c += c
        slot = self.clusters.get(cluster)
        if slot is None:
            self.clusters[cluster] = [1.0, x, e, c]
        else:
            slot[0] += 1.0
            slot[1] += x
            slot[2] += e
            slot[3] += c
        if index >= 0:
            self.members.append(index)

    @classmethod
    def of(cls, indices: Sequence[int], sample: Sample) -> Accumulator:
        """Sums over the bets ``indices`` of ``sample`` (a tight loop: the hot path)."""
        acc = cls()
        clusters = acc.clusters
        cl, xs, es, cs, won = sample.cluster, sample.x, sample.e, sample.c, sample.won
        sx = se = sc = 0.0
        wins = 0
        for i in indices:
            x, e, c = xs[i], es[i], cs[i]
            sx += x
            se += e
            sc += c
            wins += won[i]
            slot = clusters.get(cl[i])
            if slot is None:
                clusters[cl[i]] = [1.0, x, e, c]
            else:
                slot[0] += 1.0
                slot[1] += x
                slot[2] += e
                slot[3] += c
        acc.n = len(indices)
        acc.wins, acc.sum_x, acc.sum_e, acc.sum_c = wins, sx, se, sc
        acc.members = list(indices)
        return acc

    @property
    def mean(self) -> float:
        """Mean per-share edge (0 when empty)."""
        return self.sum_x / self.n if self.n else 0.0

    @property
    def se(self) -> float:
        """Cluster-robust standard error of the mean (inf with fewer than two clusters)."""
        g = len(self.clusters)
        if g < 2 or not self.n:
            return math.inf
        m = self.mean
        total = sum((s[1] - s[0] * m) ** 2 for s in self.clusters.values())
        return math.sqrt(total * g / (g - 1)) / self.n

    @property
    def per_usd(self) -> float:
        """P&L per dollar of capital (ratio of sums)."""
        return self.sum_e / self.sum_c if self.sum_c > 0 else 0.0

    @property
    def per_usd_se(self) -> float:
        """Cluster-robust standard error of the ratio (linearized)."""
        g = len(self.clusters)
        if g < 2 or self.sum_c <= 0:
            return math.inf
        r = self.per_usd
        total = sum((s[2] - r * s[3]) ** 2 for s in self.clusters.values())
        return math.sqrt(total * g / (g - 1)) / self.sum_c

    @property
    def df(self) -> int:
        """Degrees of freedom: clusters − 1."""
        return max(0, len(self.clusters) - 1)


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 3e-12:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_sf(t: float, df: int) -> float:
    """P(T > t) for Student's t with ``df`` degrees of freedom (normal when df is huge)."""
    if df <= 0 or math.isnan(t):
        return math.nan
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    if df > 10_000:
        return 0.5 * math.erfc(t / math.sqrt(2.0))
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return tail if t > 0 else 1.0 - tail


@functools.lru_cache(maxsize=4096)
def t_quantile(p: float, df: int) -> float:
    """The t value with P(T ≤ t) = p (bisection; p in (0, 1))."""
    if df <= 0:
        return math.inf
    lo, hi = -1e3, 1e3
    for _ in range(80):
        mid = (lo + hi) / 2
        if 1.0 - t_sf(mid, df) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def p_value_positive(mean: float, se: float, df: int) -> float:
    """One-sided p-value of "edge ≤ 0" (price = probability) given a positive estimate."""
    if not math.isfinite(se) or se <= 0 or df <= 0:
        return 1.0 if mean <= 0 or not math.isfinite(se) else 0.0
    return t_sf(mean / se, df)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (same order as given; monotone, capped at 1)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def dec(value: float, places: int = 6) -> Decimal | None:
    """A float estimate as fixed-point Decimal text (None when it is not finite)."""
    if not math.isfinite(value):
        return None
    return Decimal(f"{value:.{places}f}")
