"""A world indexed for the data-api's history endpoints, read on the simulator's clock."""

from __future__ import annotations

from decimal import Decimal

from polytui.sim.rest import DATAAPI_DELAY_S
from polytui.sim.world import SimWorld
from polytui.sim.worlds.past import Position, positions
from polytui.sim.worlds.tape import Print, of_trade
from polytui.sim.worlds.world import World, WorldMarket

__all__ = ["DATAAPI_DELAY_S", "HistoryData"]


class HistoryData:
    """A world indexed for the history endpoints, with the sim's clock."""

    def __init__(self, sim: SimWorld, world: World) -> None:
        self.sim = sim
        self.world = world
        self.by_cid: dict[str, WorldMarket] = {m.condition_id: m for m in world.markets}
        self.names = {w.wallet: w.alias for w in world.wallets}
        self.prints: dict[str, list[Print]] = {}
        self.market_prints: dict[int, list[Print]] = {}
        for tr in world.trades:
            p = of_trade(tr)
            self.prints.setdefault(tr.wallet, []).append(p)
            self.market_prints.setdefault(tr.market, []).append(p)
        self.positions = positions(world)

    # --- time -----------------------------------------------------------------------------------

    def now(self) -> float:
        """Sim seconds now."""
        return self.sim.now()

    def wall(self, t: float) -> float:
        """Unix seconds of sim time ``t``."""
        return self.sim.wall(t)

    def sim_of(self, unix: float) -> float:
        """Sim seconds of unix time ``unix``."""
        return (unix - self.sim.wall0) * self.sim.speed

    def visible(self, t: float) -> bool:
        """Whether something that happened at ``t`` is indexed by now (the past always is)."""
        return t < 0 or t + DATAAPI_DELAY_S <= self.now()

    def name(self, wallet: str) -> str:
        """A world wallet's alias ("" for the retail pool)."""
        return self.names.get(wallet, "")

    def market(self, index: int) -> WorldMarket:
        """A market by index."""
        return self.world.markets[index]

    # --- positions ------------------------------------------------------------------------------

    def position_state(self, pos: Position, now: float) -> str:
        """OPEN, REDEEMABLE, REDEEMABLE_LOST or CLOSED at ``now``."""
        if pos.market.end_s > now:
            return "OPEN"
        if pos.closed(now) and self.visible(pos.redeem_t):
            return "CLOSED"
        return "REDEEMABLE" if pos.payout > 0 else "REDEEMABLE_LOST"

    def held(self, wallet: str) -> list[Position]:
        """``wallet``'s positions as indexed now (fills not yet indexed left out)."""
        out = []
        for pos in self.positions.get(wallet, []):
            if self.visible(pos.fills[-1].t):
                out.append(pos)
                continue
            fills = [f for f in pos.fills if self.visible(f.t)]
            if fills:
                trimmed = Position(pos.wallet, pos.market, pos.token_id, pos.outcome_index)
                trimmed.redeem_t = pos.redeem_t
                for f in fills:
                    trimmed.fills.append(f)
                    trimmed.shares += f.shares
                    trimmed.cost_usd += f.usd
                trimmed.fees_usd = sum(
                    (pos.fees_usd * f.shares / pos.shares for f in fills), Decimal(0)
                ).quantize(Decimal("0.000001"))
                out.append(trimmed)
        return out
