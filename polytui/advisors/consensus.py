"""Advisors' opinions → one consensus → the strategy's estimate moved within a bound (pure).

Each opinion is a probability that the copied outcome wins, the advisor's own confidence in it
and a rationale. The consensus is the **weighted median** of the probabilities (weight = the
entry's ``weight`` × the advisor's confidence, so a shrug counts for little) and the **spread**
(largest minus smallest probability that carried weight). The estimate moves toward the median by
at most ``max_shift``, and not at all when the spread is above ``max_spread`` (the advisors do not
agree) or nobody answered in time.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

PLACES = Decimal("0.0001")
ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class Opinion:
    """One advisor's validated answer about one intent."""

    advisor: str
    weight: Decimal
    probability: Decimal
    confidence: Decimal
    rationale: str


@dataclass(frozen=True, slots=True)
class Consensus:
    """What the advisors said about one intent, and what could be asked."""

    asked: int
    opinions: tuple[Opinion, ...]
    probability: Decimal | None
    spread: Decimal | None

    @property
    def answered(self) -> int:
        """Opinions that arrived within the budget."""
        return len(self.opinions)


def weighted_median(points: list[tuple[Decimal, Decimal]]) -> Decimal | None:
    """Median of ``(value, weight)`` pairs; halfway between two values on an exact tie."""
    usable = sorted((v, w) for v, w in points if w > 0)
    total = sum((w for _, w in usable), ZERO)
    if total <= 0:
        return None
    half = total / 2
    running = ZERO
    for i, (value, weight) in enumerate(usable):
        running += weight
        if running > half:
            return value
        if running == half:
            return (value + usable[i + 1][0]) / 2
    return usable[-1][0]


def consensus_of(opinions: list[Opinion], asked: int) -> Consensus:
    """The weighted median and spread of the opinions that carry weight."""
    points = [(o.probability, o.weight * o.confidence) for o in opinions]
    median = weighted_median(points)
    weighted = [v for v, w in points if w > 0]
    spread = (max(weighted) - min(weighted)) if weighted else None
    return Consensus(
        asked=asked,
        opinions=tuple(opinions),
        probability=None if median is None else median.quantize(PLACES),
        spread=None if spread is None else spread.quantize(PLACES),
    )


def bounded_estimate(
    estimate: Decimal, consensus: Consensus | None, max_shift: Decimal, max_spread: Decimal
) -> Decimal:
    """``estimate`` moved toward the consensus by at most ``max_shift`` (within [0, 1])."""
    if consensus is None or consensus.probability is None or consensus.spread is None:
        return estimate
    if consensus.spread > max_spread:
        return estimate
    shift = max(-max_shift, min(max_shift, consensus.probability - estimate))
    # Not rounded: a rounded result could move the estimate by more than the bound.
    return max(ZERO, min(ONE, estimate + shift))


def summary(consensus: Consensus, max_spread: Decimal) -> str:
    """The consensus in one line (the approval dialog and the journal)."""
    if consensus.probability is None or consensus.spread is None:
        return f"advisors: no answer in time ({consensus.asked} asked)"
    head = (
        f"advisors: p {consensus.probability:.2f}, spread {consensus.spread:.2f}, "
        f"{consensus.answered} of {consensus.asked} answered"
    )
    if consensus.spread > max_spread:
        return f"{head} (they disagree: no move)"
    return head
