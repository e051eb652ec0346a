"""Capital to the best use: a reserve of each exposure limit for strong copies, and the names of
whatever holds the room when a copy is refused for it.

A copy with net edge per dollar ``r`` may fill the total-exposure limit only up to

    share(r) = (1 − reserve_share) + reserve_share × min(1, r / strong_edge_per_usd)

of it, so when the limit binds, the room that is left goes to copies that earn more per dollar.
Pure apart from the small map of what each held token was entered on.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from polytui.amounts import floor_shares
from polytui.model import ONE, ZERO, PortfolioView

# RiskGuard limits a copy is refused "for room" by (the others are not about capital).
ROOM_LIMITS = frozenset(
    {"max_total_exposure_usd", "max_market_exposure_usd", "max_open_positions", "cash"}
)


@dataclass(frozen=True, slots=True)
class Held:
    """What a held token was entered on."""

    edge_per_usd: Decimal
    label: str


def usable_share(edge_per_usd: Decimal, reserve: Decimal, strong: Decimal) -> Decimal:
    """The share of the total-exposure limit a copy earning ``edge_per_usd`` may fill."""
    strength = min(ONE, max(ZERO, edge_per_usd / strong)) if strong > 0 else ONE
    return (ONE - reserve) + reserve * strength


class Capital:
    """Net edge per dollar of every token entered, for ranking and refusal reasons."""

    def __init__(self) -> None:
        self.held: dict[str, Held] = {}

    def note_entry(self, token_id: str, edge_per_usd: Decimal, label: str) -> None:
        """Remember what ``token_id`` was (last) entered on."""
        self.held[token_id] = Held(edge_per_usd, label[:48])

    def holders(self, view: PortfolioView, token_id: str = "") -> str:
        """Who holds the room: positions open, the weakest and the strongest by edge per $."""
        open_tokens = [t for t, s in view.shares_by_token.items() if s > 0 and t != token_id]
        for token in [t for t in self.held if t not in view.shares_by_token]:
            del self.held[token]  # sold or settled
        known = sorted(
            (self.held[t] for t in open_tokens if t in self.held), key=lambda h: h.edge_per_usd
        )
        if not known:
            return f"taken by {len(open_tokens)} open positions"
        weakest, strongest = known[0], known[-1]
        return (
            f"taken by {len(open_tokens)} open positions, weakest net edge "
            f"{weakest.edge_per_usd:.3f}/$ ({weakest.label!r}), strongest "
            f"{strongest.edge_per_usd:.3f}/$"
        )

    def reserve_fit(
        self,
        *,
        shares: Decimal,
        per_share: Decimal,
        edge_per_usd: Decimal,
        view: PortfolioView,
        limit_usd: Decimal,
        reserve: Decimal,
        strong: Decimal,
    ) -> tuple[Decimal, str]:
        """(shares that fit under this copy's share of the limit, why fewer) — all of them and
        "" when the reserve does not bind."""
        share = usable_share(edge_per_usd, reserve, strong)
        if share >= ONE:  # a strong copy: the whole limit, which RiskGuard enforces
            return shares, ""
        cap = limit_usd * share
        room = cap - view.total_exposure_usd
        if shares * per_share <= room:
            return shares, ""
        fits = floor_shares(max(ZERO, room) / per_share) if per_share > 0 else ZERO
        why = (
            f"reserve: at {edge_per_usd:.3f}/$ a copy may fill {share * 100:.0f} % of "
            f"max_total_exposure_usd ({cap:.2f}); {view.total_exposure_usd:.2f} is in use"
        )
        return fits, why
