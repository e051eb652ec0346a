"""A wallet's history profile as the strategy's prior, so a newly watched wallet starts informed.

``prior_from_profile`` is the one seam between whale profiles and scoring. The profile's
price-adjusted edge (outcome − price, fees included, over its settled buys) is the prior edge
the scorer shrinks toward, worth what its evidence is worth: ``k = VAR0 / se²`` pseudo-buys (so
the prior alone is exactly as uncertain as the profile's cluster-robust standard error ``se``
says), never more than the bets it settled (nor ``max_weight``, when given); its copy edge at
our latency gives the wallet's prior latency tax (edge − copy edge, never below zero). A
non-copyable wallet's prior edge is at most zero, whatever its own record. Pure;
``priors_from_journal`` is the thin edge that reads saved profiles.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from polytui.strategy.edge import VAR0
from polytui.whales.profile import WalletProfile

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class WalletPrior:
    """What the history says before any live trade: an edge, its weight and a latency tax."""

    wallet: str
    edge: Decimal
    weight: int
    tax: Decimal | None
    copy_edge: Decimal | None
    copyable: bool
    reason: str


def evidence_weight(n: int, se: Decimal | None) -> int:
    """Pseudo-buys worth a record of ``n`` bets with standard error ``se``: ``VAR0 / se²``,
    at most ``n`` (``n`` when the record has no finite spread)."""
    if se is None or not se.is_finite() or se <= 0:
        return n
    return min(n, int(VAR0 / (se * se)))


def prior_from_profile(
    profile: WalletProfile, *, latency_s: float, max_weight: int | None = None
) -> WalletPrior:
    """The scorer's prior for ``profile``'s wallet at a copy latency of ``latency_s``."""
    record = profile.record
    edge = record.edge if record.n else ZERO
    copy = profile.copy_at(latency_s)
    copy_edge = copy.stat.edge if copy is not None and copy.stat.n else None
    tax = None if copy_edge is None else max(ZERO, edge - copy_edge)
    if not profile.copyable:
        edge = min(edge, ZERO)
    weight = evidence_weight(record.n, record.se)
    if max_weight is not None:
        weight = min(max_weight, weight)
    return WalletPrior(
        profile.wallet, edge, weight, tax, copy_edge, profile.copyable, profile.reason
    )


def priors_from_journal(
    journal: Any, *, latency_s: float, max_weight: int | None = None
) -> dict[str, WalletPrior]:
    """Priors of every wallet with a saved profile (none when the journal has no profiles)."""
    loader = getattr(journal, "wallet_profiles", None)
    if loader is None:
        return {}
    out: dict[str, WalletPrior] = {}
    for wallet, raw in loader().items():
        try:
            profile = WalletProfile.from_record(raw)
        except (KeyError, TypeError, ValueError, ArithmeticError):
            continue  # a profile written by another version: the global prior applies
        out[wallet] = prior_from_profile(profile, latency_s=latency_s, max_weight=max_weight)
    return out
