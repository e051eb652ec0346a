"""Playbooks: the few segments where a wallet's edge is strongest and statistically real (pure).

A segment is a conjunction of one to four attributes of a settled bet — what it bought or sold
("buys No"), the market's category, the entry-price band, the time before the end. Every
segment with at least ``min_n`` bets in at least three markets is tested against "price =
probability" (one-sided t-test on the cluster-robust mean edge); the p-values are corrected with
Holm's method for the number of segments tried, and the survivors are kept strongest first,
skipping one that mostly repeats the bets of a playbook already kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import combinations

from polytui.model import Side
from polytui.whales.bets import Bet
from polytui.whales.stats import Accumulator, Sample, holm, p_value_positive

PRICE_BANDS: tuple[tuple[float, float], ...] = (
    (0.0, 0.10),
    (0.10, 0.30),
    (0.30, 0.50),
    (0.50, 0.70),
    (0.70, 0.90),
    (0.90, 1.0001),
)
# (upper bound in seconds, label for tables, phrase for sentences)
TIME_BANDS: tuple[tuple[float, str, str], ...] = (
    (3_600, "<1h", "within 1 h of the end"),
    (6 * 3_600, "1-6h", "1-6 h before the end"),
    (24 * 3_600, "6-24h", "6-24 h before the end"),
    (7 * 86_400, "1-7d", "1-7 days before the end"),
    (float("inf"), ">7d", "over a week before the end"),
)
# A bet's notional is money: compared as Decimal, so no rounding to binary moves it across a bound.
SIZE_BANDS: tuple[tuple[Decimal, str], ...] = (
    (Decimal(10), "<$10"),
    (Decimal(100), "$10-100"),
    (Decimal(1_000), "$100-1k"),
    (Decimal(10_000), "$1k-10k"),
    (Decimal("Infinity"), "≥$10k"),
)
DIMENSIONS = ("action", "category", "price", "time")


def price_band(price: float) -> str:
    """``0.70-0.90`` style label of a price."""
    for lo, hi in PRICE_BANDS:
        if lo <= price < hi:
            return f"{lo:.2f}-{min(hi, 1.0):.2f}"
    return "?"


def time_band(seconds: float | None) -> str:
    """Label of the time from entry to the end."""
    if seconds is None:
        return "?"
    for upper, label, _ in TIME_BANDS:
        if seconds < upper:
            return label
    return "?"


def size_band(usd: Decimal) -> str:
    """Label of a bet's notional."""
    for upper, label in SIZE_BANDS:
        if usd < upper:
            return label
    return "?"


def action_of(bet: Bet) -> str:
    """``buys No`` / ``sells Yes``."""
    verb = "buys" if bet.side is Side.BUY else "sells"
    return f"{verb} {bet.outcome or f'outcome {bet.outcome_index}'}"


def attributes(bet: Bet) -> dict[str, str]:
    """The playbook attributes of a settled bet ("?" when unknown)."""
    return {
        "action": action_of(bet),
        "category": bet.category or "?",
        "price": price_band(float(bet.avg_price)),
        "time": time_band(bet.before_end_s),
    }


def sentence(attrs: dict[str, str]) -> str:
    """The segment in words: ``buys No in weather markets at 0.70-0.90 within 6 h of the end``."""
    parts = [attrs.get("action", "trades")]
    if "category" in attrs:
        parts.append(f"in {attrs['category'].lower()} markets")
    if "price" in attrs:
        parts.append(f"at {attrs['price']}")
    if "time" in attrs:
        phrase = next((p for _, label, p in TIME_BANDS if label == attrs["time"]), attrs["time"])
        parts.append(phrase)
    return " ".join(parts)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A tested segment with its raw and corrected p-values."""

    attrs: dict[str, str]
    stat: Accumulator
    p_value: float
    p_adjusted: float
    tried: int


def find_playbooks(
    bets: Sequence[Bet],
    sample: Sample,
    *,
    min_n: int = 10,
    min_clusters: int = 3,
    alpha: float = 0.05,
    limit: int = 5,
    max_overlap: float = 0.8,
) -> list[Candidate]:
    """Segments whose corrected p-value is below ``alpha``, strongest (by t) first.

    ``bets`` are settled bets and ``sample`` their columns, index for index.
    """
    members: dict[tuple[tuple[str, str], ...], list[int]] = {}
    subsets = [c for k in (1, 2, 3, 4) for c in combinations(range(len(DIMENSIONS)), k)]
    for index, bet in enumerate(bets):
        attrs = attributes(bet)
        pairs = tuple((d, attrs[d]) for d in DIMENSIONS)
        for subset in subsets:
            key = tuple(pairs[j] for j in subset)
            if any(v == "?" for _, v in key):
                continue
            found = members.get(key)
            if found is None:
                members[key] = [index]
            else:
                found.append(index)
    tested: list[tuple[tuple[tuple[str, str], ...], Accumulator]] = []
    for key, indices in members.items():
        if len(indices) < min_n:
            continue
        acc = Accumulator.of(indices, sample)
        if len(acc.clusters) >= min_clusters:
            tested.append((key, acc))
    if not tested:
        return []
    raw = [p_value_positive(acc.mean, acc.se, acc.df) for _, acc in tested]
    adjusted = holm(raw)
    survivors = [
        Candidate(dict(key), acc, p, q, len(tested))
        for (key, acc), p, q in zip(tested, raw, adjusted, strict=True)
        if q < alpha and acc.mean > 0
    ]
    # Strongest first; of segments holding the same bets the most specific says the most.
    survivors.sort(
        key=lambda c: (-round(c.stat.mean / c.stat.se, 9) if c.stat.se > 0 else 0.0, -len(c.attrs))
    )
    kept: list[Candidate] = []
    kept_sets: list[set[int]] = []
    for candidate in survivors:
        chosen = set(candidate.stat.members)
        if any(len(chosen & other) > max_overlap * len(chosen) for other in kept_sets):
            continue
        kept.append(candidate)
        kept_sets.append(chosen)
        if len(kept) >= limit:
            break
    return kept
