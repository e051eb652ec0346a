"""A world's past: the same wallets trading the same kinds of markets before sim time 0.

:func:`build_world_with_past` builds the present exactly as :func:`build_world` does (same
markets, prices and trades, whatever the past), then runs the same archetypes over
``past_hours`` before it on a separate random stream, with markets of the same groups. Only past
markets that ended by sim time 0 are kept, with their trades, so the history the data-api serves
is settled. Past markets come after the present ones in ``world.markets`` (their indices
continue the present's), and past trades have negative times.

The position ledger (:func:`positions`) is what the data-api's history endpoints serve: one
position per (wallet, token) with its fills, fees, settlement and redemption. A held position is
redeemed (a REDEEM activity row, losers for 0) a seeded while after its market ends — always
before sim time 0 for a past market, so at start every past position is closed.

:func:`history_truth` is the truth of the past per wallet: what the profiles built from the
served history should find (its trades, true edge, copy edge and realized P&L, fees included).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from polytui.sim.onchain import block_at
from polytui.sim.worlds.build import _markets, _Trader, build_world
from polytui.sim.worlds.fees import fee_per_share
from polytui.sim.worlds.spec import WorldSpec
from polytui.sim.worlds.world import COPY_DELAYS, World, WorldMarket, WorldTrade

REDEEM_MAX_S = 1800.0  # a held position is redeemed within this long of its market's end
MICRO = Decimal("0.000001")


def build_world_with_past(
    spec: WorldSpec,
    seed: int | None = None,
    hours: float | None = None,
    past_hours: float | None = None,
) -> World:
    """The world of ``spec`` with ``past_hours`` (default: the spec's ``history_hours``) of
    settled history before sim time 0; the present is the same as without it."""
    present = build_world(spec, seed=seed, hours=hours)
    past_s = 3600.0 * (spec.history_hours if past_hours is None else past_hours)
    if past_s <= 0:
        return present
    rng = random.Random(f"{spec.name}:{present.seed}:past")
    markets = _markets(spec, rng, past_s)
    scratch = World(spec, present.seed, past_s, markets, present.wallets)
    trades = _Trader(scratch, rng).run()
    kept = [m for m in markets if m.end_s - past_s <= 0.0]
    renumber = {m.index: len(present.markets) + k for k, m in enumerate(kept)}
    for m in kept:
        _shift_market(m, -past_s, renumber[m.index])
    past_trades = [
        _shift_trade(tr, -past_s, renumber[tr.market]) for tr in trades if tr.market in renumber
    ]
    return World(
        spec,
        present.seed,
        present.horizon_s,
        present.markets + kept,
        present.wallets,
        trades=past_trades + present.trades,
    )


def _shift_market(m: WorldMarket, dt: float, index: int) -> None:
    m.index = index
    m.start_s += dt
    m.end_s += dt
    path = m.path
    path.start_s += dt
    path.end_s += dt
    path._leak_t[:] = [t + dt for t in path._leak_t]
    path._leaks[:] = [(t + dt, llr) for t, llr in path._leaks]
    for side in ("ask", "bid"):
        times = m.book._times[side]
        times[:] = [t + dt for t in times]


def _shift_trade(tr: WorldTrade, dt: float, index: int) -> WorldTrade:
    t = tr.t + dt
    return replace(
        tr,
        t=t,
        market=index,
        leak_t=None if tr.leak_t is None else tr.leak_t + dt,
        block=block_at(t),
    )


# --- positions: what the history endpoints serve ------------------------------------------------


@dataclass(slots=True)
class Position:
    """One wallet's holding of one token: fills, cost, fees, settlement and redemption."""

    wallet: str
    market: WorldMarket
    token_id: str
    outcome_index: int
    fills: list[WorldTrade] = field(default_factory=list)
    shares: Decimal = Decimal(0)
    cost_usd: Decimal = Decimal(0)
    fees_usd: Decimal = Decimal(0)
    redeem_t: float = 0.0

    @property
    def payout(self) -> Decimal:
        """What one share paid at settlement."""
        return Decimal(1) if self.token_id == self.market.winner else Decimal(0)

    @property
    def avg_price(self) -> Decimal:
        """Share-weighted average fill price."""
        return (self.cost_usd / self.shares).quantize(MICRO) if self.shares else Decimal(0)

    @property
    def total_cost_usd(self) -> Decimal:
        """Cost plus taker fees."""
        return self.cost_usd + self.fees_usd

    @property
    def realized_pnl_usd(self) -> Decimal:
        """Redemption proceeds minus cost and fees (0 before the market ends)."""
        return (self.shares * self.payout - self.total_cost_usd).quantize(MICRO)

    @property
    def last_t(self) -> float:
        """The last thing that happened to it (its redemption once the market ended)."""
        return self.redeem_t

    def closed(self, t: float) -> bool:
        """Redeemed by sim time ``t``."""
        return self.redeem_t <= t


def fill_fee_usd(market: WorldMarket, trade: WorldTrade) -> Decimal:
    """The taker fee a world fill paid (every world fill takes liquidity)."""
    if market.fee is None:
        return Decimal(0)
    per_share = Decimal(repr(fee_per_share(market.fee, float(trade.price))))
    return (per_share * trade.shares).quantize(MICRO)


def redeem_time(world: World, market: WorldMarket, wallet: str) -> float:
    """When ``wallet`` redeems its position in ``market`` (before 0 for a past market)."""
    digest = hashlib.sha256(f"redeem:{world.seed}:{market.condition_id}:{wallet}".encode())
    u = (int.from_bytes(digest.digest()[:8], "big") + 1) / (2**64 + 2)
    span = REDEEM_MAX_S if market.end_s > 0 else min(REDEEM_MAX_S, -market.end_s)
    return market.end_s + u * span


def positions(world: World) -> dict[str, list[Position]]:
    """Every wallet's positions (oldest first), from the world's trades."""
    out: dict[str, dict[str, Position]] = {}
    for tr in world.trades:
        market = world.markets[tr.market]
        held = out.setdefault(tr.wallet, {})
        pos = held.get(tr.token_id)
        if pos is None:
            pos = held[tr.token_id] = Position(
                tr.wallet,
                market,
                tr.token_id,
                tr.outcome_index,
                redeem_t=redeem_time(world, market, tr.wallet),
            )
        pos.fills.append(tr)
        pos.shares += tr.shares
        pos.cost_usd += tr.usd
        pos.fees_usd += fill_fee_usd(market, tr)
    return {w: list(held.values()) for w, held in out.items()}


def history_truth(world: World) -> dict[str, dict[str, Any]]:
    """Per wallet, the truth of its past (trades before sim time 0): what its profile should
    find. ``realized_pnl_usd`` is over its closed positions, fees included (decimal text)."""
    by_wallet: dict[str, list[WorldTrade]] = {}
    for tr in world.trades:
        if tr.t < 0:
            by_wallet.setdefault(tr.wallet, []).append(tr)
    held = positions(world)
    out: dict[str, dict[str, Any]] = {}
    for w in world.wallets:
        trades = by_wallet.get(w.wallet, [])
        n = len(trades)
        closed = [p for p in held.get(w.wallet, []) if p.market.end_s <= 0 and p.closed(0.0)]
        out[w.wallet] = {
            "trades": n,
            "positions": len(closed),
            "markets": len({p.market.index for p in closed}),
            "true_edge": round(sum(tr.belief - tr.public for tr in trades) / n, 6) if n else 0.0,
            "copy_edge": {
                f"{d:g}": (round(sum(world.copy_edge(tr, d) for tr in trades) / n, 6) if n else 0.0)
                for d in COPY_DELAYS
            },
            "realized_pnl_usd": str(sum((p.realized_pnl_usd for p in closed), Decimal(0))),
            "fees_usd": str(sum((p.fees_usd for p in closed), Decimal(0))),
            "cost_usd": str(sum((p.total_cost_usd for p in closed), Decimal(0))),
        }
    return out


def truth_with_history(world: World, origin_unix: float | None = None) -> dict[str, Any]:
    """``world.truth()`` plus, when the world has a past, each wallet's ``history``."""
    truth = world.truth(origin_unix)
    if not any(tr.t < 0 for tr in world.trades):
        return truth
    past = history_truth(world)
    for entry in truth["wallets"]:
        entry["history"] = past[entry["wallet"]]
    return truth
