"""A wallet's history profile as the strategy's prior, so a newly watched wallet starts informed.

``prior_from_profile`` is the one seam between whale profiles and scoring: it turns a profile's
copy edge at our latency (not its win rate — winning 85 % at 0.90 is no edge) into the prior
the scorer shrinks toward, worth as many bets as the profile settled (capped). Today's scorer
speaks a win rate whose sizing reads ``p = c + (rate − 0.5)(1 − c)``; at a typical whale price
of 0.5 a copy edge ``e`` per share is the rate ``0.5 + 2e``. A non-copyable wallet's prior is
at most 0.5 (no extra confidence), whatever its own record. Pure; ``priors_from_journal`` is the
thin edge that reads saved profiles.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from polytui.whales.profile import WalletProfile

RATE_FLOOR = Decimal("0.05")
RATE_CEILING = Decimal("0.95")
HALF = Decimal("0.5")


@dataclass(frozen=True, slots=True)
class WalletPrior:
    """What the history says before any live trade: a prior win rate and its weight."""

    wallet: str
    win_rate: Decimal
    weight: int
    copy_edge: Decimal | None
    copyable: bool
    reason: str


def prior_from_profile(
    profile: WalletProfile, *, latency_s: float, max_weight: int
) -> WalletPrior:
    """The scorer's prior for ``profile``'s wallet at a copy latency of ``latency_s``."""
    copy = profile.copy_at(latency_s)
    edge = copy.stat.edge if copy is not None and copy.stat.n else None
    rate = HALF if edge is None else HALF + 2 * edge
    if not profile.copyable:
        rate = min(rate, HALF)
    rate = max(RATE_FLOOR, min(RATE_CEILING, rate))
    weight = min(max_weight, copy.stat.n if copy is not None else 0)
    return WalletPrior(profile.wallet, rate, weight, edge, profile.copyable, profile.reason)


def priors_from_journal(journal: Any, *, latency_s: float, max_weight: int) -> dict[
    str, WalletPrior
]:
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
