"""A world seen through the server's scenario shapes (``Scenario``, ``SimMarket``, ``SimTrade``).

The server's parts read markets, whales and trades through those classes; this view lets them
serve a world unchanged: a market's ``yes_price`` is the world's public posterior and
:func:`world_book` gives the book its fills left (impact and refill included).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from polytui.sim.scenario import Scenario, SimMarket, SimTrade, SimWhale
from polytui.sim.worlds.world import World, WorldMarket

PRICE_Q = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class WorldSimMarket(SimMarket):
    """A scenario market backed by a world market."""

    source: WorldMarket | None = None

    def yes_price(self, t: float) -> Decimal:
        """The public probability that YES wins at ``t`` (1 or 0 from the end on)."""
        if self.source is None:
            return SimMarket.yes_price(self, t)
        return Decimal(repr(self.source.yes_price(t))).quantize(PRICE_Q)


def world_book(
    market: SimMarket, token: str, t: float
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]] | None:
    """(bids, asks) worst first as wire strings, when ``market`` comes from a world."""
    source = getattr(market, "source", None)
    if not isinstance(source, WorldMarket):
        return None
    bids, asks = source.book_at(token, t)

    def wire(levels: list[tuple[float, float]]) -> list[tuple[str, str]]:
        return [(f"{price:.2f}", f"{size:.2f}") for price, size in reversed(levels) if size > 0]

    return wire(bids), wire(asks)


def scenario_of(world: World) -> Scenario:
    """The world as a ``Scenario`` the server can serve."""
    markets: list[SimMarket] = []
    for m in world.markets:
        markets.append(
            WorldSimMarket(
                index=m.index,
                condition_id=m.condition_id,
                question=m.question,
                slug=m.slug,
                yes_token=m.yes_token,
                no_token=m.no_token,
                end_s=m.end_s,
                start_price=Decimal(repr(m.path.p0)).quantize(Decimal("0.01")),
                yes_wins=m.yes_wins,
                fee=None if m.fee is None else m.fee.wire(),
                fee_type="" if m.fee is None else m.fee.name,
                noise_seed=0,
                source=m,
            )
        )
    # The scenario's "skill" orders the simulated leaderboard; it is no hint of the truth here.
    whales = [SimWhale(w.wallet, w.alias, 0.5, w.watched) for w in world.wallets]
    trades = [
        SimTrade(
            t=tr.t,
            wallet=tr.wallet,
            market=tr.market,
            token_id=tr.token_id,
            outcome=tr.outcome,
            outcome_index=tr.outcome_index,
            side=tr.side,
            price=tr.price,
            shares=tr.shares,
            tx_hash=tr.tx_hash,
            order_hash=tr.order_hash,
            block=tr.block,
        )
        for tr in world.trades
        if tr.t >= 0
    ]
    return Scenario(world.spec.name, world.seed, markets, whales, trades)
