"""The public information process of one market and the exact Bayesian price it implies.

Each market has a hidden outcome ``Y`` (1 when YES wins) drawn once from ``Bernoulli(p0)``. The
public watches a signal ``X_s = Y·s + W_s`` (``W`` a standard Brownian motion) on the time change
``s(t) = κ·u / (1 − u)``, ``u`` the fraction of the market's life already elapsed, so ``s`` grows
without bound as the end approaches. Discrete public news (an informed wallet's signal leaking out)
adds its own log-likelihood ratio. The public price is the posterior exactly:

    logit P(Y = 1 | public info at t) = logit p0 + X_s(t) − s(t)/2 + Σ leaked log-likelihood ratios

so it is a martingale that converges to 1 or 0 at the end, and binned by price it wins as often as
it says (the calibration test checks it on 10,000 markets). The path is sampled once per block
(``step_s``) from a seeded generator and extended lazily, so a market of three days costs nothing
until someone asks for its price far ahead.
"""

from __future__ import annotations

import math
import random
from array import array
from bisect import bisect_right
from collections.abc import Callable

LOGIT_CAP = 40.0  # |logit| beyond this is 1 or 0 in double precision anyway

# A fixed quadrature for E[f(Z)], Z ~ N(0, 1): midpoints on [−4.5, 4.5]. Fine enough for f with tick
# steps, and the same nodes every time, so expectations are deterministic.
_QN = 41
_QZ = [-4.5 + (i + 0.5) * (9.0 / _QN) for i in range(_QN)]
_QW_RAW = [math.exp(-z * z / 2) for z in _QZ]
_QW = [w / sum(_QW_RAW) for w in _QW_RAW]


def sigmoid(x: float) -> float:
    """The logistic function, safe at any argument."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-min(x, 700.0)))
    e = math.exp(max(x, -700.0))
    return e / (1.0 + e)


def logit(p: float) -> float:
    """log(p / (1 − p)), capped at ±LOGIT_CAP."""
    if p <= 0.0:
        return -LOGIT_CAP
    if p >= 1.0:
        return LOGIT_CAP
    return max(-LOGIT_CAP, min(LOGIT_CAP, math.log(p / (1.0 - p))))


def signal_llr(accuracy: float) -> float:
    """Log-likelihood ratio of one private signal that names the winner with ``accuracy``."""
    return math.log(accuracy / (1.0 - accuracy))


def posterior(p_yes: float, names_yes: bool, accuracy: float) -> float:
    """P(YES wins) after a signal of ``accuracy`` naming YES (or NO) is added to ``p_yes``."""
    llr = signal_llr(accuracy)
    return sigmoid(logit(p_yes) + (llr if names_yes else -llr))


class PricePath:
    """The public YES price of one market over its life (sim seconds, absolute)."""

    __slots__ = (
        "_leak_t",
        "_leaks",
        "_logit0",
        "_rng",
        "_x",
        "end_s",
        "kappa",
        "start_s",
        "step_s",
        "yes_wins",
    )

    def __init__(
        self,
        *,
        p0: float,
        yes_wins: bool,
        start_s: float,
        end_s: float,
        kappa: float,
        seed: int,
        step_s: float = 2.0,
    ) -> None:
        if not 0.0 < p0 < 1.0:
            raise ValueError(f"p0 must be inside (0, 1), got {p0}")
        if end_s <= start_s:
            raise ValueError("a market must end after it starts")
        self.start_s = start_s
        self.end_s = end_s
        self.kappa = kappa
        # Fine steps (one a block) for short markets; at most ~2,000 steps over a long one,
        # whose price barely moves in a block anyway.
        self.step_s = max(step_s, (end_s - start_s) / 2000.0)
        self.yes_wins = yes_wins
        self._logit0 = logit(p0)
        self._rng = random.Random(seed)
        self._x = array("d", [0.0])  # X at step k (sim time start_s + k·step_s)
        self._leak_t: list[float] = []
        self._leaks: list[tuple[float, float]] = []  # (time, llr) sorted by time

    @property
    def p0(self) -> float:
        """The prior P(YES wins) at the market's start."""
        return sigmoid(self._logit0)

    def s_at(self, t: float) -> float:
        """Information time ``s(t)``: 0 at the start, +∞ at the end."""
        life = self.end_s - self.start_s
        u = (t - self.start_s) / life
        if u <= 0.0:
            return 0.0
        if u >= 1.0:
            return math.inf
        return self.kappa * u / (1.0 - u)

    def step_of(self, t: float) -> int:
        """The sampling step in force at ``t`` (the last one not after ``t``)."""
        return max(0, int((t - self.start_s) // self.step_s))

    def _x_at_step(self, k: int) -> float:
        x = self._x
        if len(x) > k:
            return x[k]
        y = 1.0 if self.yes_wins else 0.0
        gauss = self._rng.gauss
        sqrt = math.sqrt
        step, life, kappa = self.step_s, self.end_s - self.start_s, self.kappa
        j = len(x)
        u_prev = (j - 1) * step / life
        s_prev = kappa * u_prev / (1.0 - u_prev) if u_prev < 1.0 else math.inf
        last = x[-1]
        while j <= k:
            u = j * step / life
            if u >= 1.0:  # the step that reaches the end: nothing is left to learn
                x.append(last)
                s_prev = math.inf
                j += 1
                continue
            s_now = kappa * u / (1.0 - u)
            ds = s_now - s_prev
            last = last + y * ds + sqrt(ds) * gauss(0.0, 1.0)
            x.append(last)
            s_prev = s_now
            j += 1
        return x[k]

    def leak(self, t: float, llr: float) -> None:
        """Public news at ``t`` worth ``llr`` (positive favours YES) becomes public."""
        i = bisect_right(self._leak_t, t)
        self._leak_t.insert(i, t)
        self._leaks.insert(i, (t, llr))

    def leaked(self, t: float) -> float:
        """Sum of the news log-likelihood ratios published at or before ``t``."""
        n = bisect_right(self._leak_t, t)
        return sum(llr for _, llr in self._leaks[:n])

    def public_logit(self, t: float) -> float:
        """logit of the public price at ``t`` (before the end)."""
        k = self.step_of(t)
        s = self.s_at(self.start_s + k * self.step_s)
        value = self._logit0 + self._x_at_step(k) - s / 2.0 + self.leaked(t)
        return max(-LOGIT_CAP, min(LOGIT_CAP, value))

    def price(self, t: float) -> float:
        """P(YES wins | public information at ``t``); exactly 1 or 0 from the end on."""
        if t >= self.end_s or self.step_of(t) * self.step_s + self.start_s >= self.end_s:
            return 1.0 if self.yes_wins else 0.0
        return sigmoid(self.public_logit(t))

    def expect(
        self,
        t: float,
        delay: float,
        p_yes_belief: float,
        extra_llr: float,
        f: Callable[[float], float],
    ) -> float:
        """E[f(public YES price at t + delay)] for someone who believes P(YES) = ``p_yes_belief``.

        ``extra_llr`` is news that will be public by then and that the believer already knows
        (an informed wallet's own signal leaking out). Other future news is not foreseen.
        """
        later = t + delay
        if later >= self.end_s:
            return p_yes_belief * f(1.0) + (1.0 - p_yes_belief) * f(0.0)
        k0, k1 = self.step_of(t), self.step_of(later)
        s0 = self.s_at(self.start_s + k0 * self.step_s)
        s1 = self.s_at(self.start_s + k1 * self.step_s)
        ds = s1 - s0
        base = self.public_logit(t) + extra_llr
        if ds <= 0.0:
            return f(sigmoid(base))
        sd = math.sqrt(ds)
        total = 0.0
        for z, w in zip(_QZ, _QW, strict=True):
            up = f(sigmoid(base + ds / 2.0 + sd * z))  # Y = 1: drift +ds, minus ds/2
            down = f(sigmoid(base - ds / 2.0 + sd * z))  # Y = 0: drift 0, minus ds/2
            total += w * (p_yes_belief * up + (1.0 - p_yes_belief) * down)
        return total


__all__ = ["PricePath", "logit", "posterior", "sigmoid", "signal_llr"]
