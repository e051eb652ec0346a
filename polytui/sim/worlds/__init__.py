"""Honest worlds for the simulator and the backtest: calibrated prices, impact, known truth.

The API (pure functions, no sockets, no wall clock; times are sim seconds since start)::

    from polytui.sim.worlds import builtin_spec, load_spec, build_world

    spec = builtin_spec("demo")              # or load_spec(Path("WORLD.toml")); SpecError if bad
    world = build_world(spec, seed=7, hours=6)

    world.markets        # [WorldMarket]: condition_id, question, yes_token/no_token, start_s,
                         #   end_s, fee (FeeSchedule | None), group (its [[markets]] kind), winner
    world.wallets        # [Wallet]: wallet, alias, archetype, watched, cluster
    world.trades         # [WorldTrade] sorted by t: every wallet buy over the whole horizon, with
                         #   its book-walking price (VWAP), shares, usd, levels, block, tx hash
    world.price(token, t)        # public P(token wins) at t: the exact Bayesian posterior
    world.book(token, t)         # (bids, asks) best first, impact and refill included
    world.open_markets(t), world.listed_markets(t), world.resolutions(t0, t1)
    world.trades_between(t0, t1)
    world.copy_edge(trade, delay)  # expected edge per share of a copy `delay` s late, after fee
    world.truth(origin_unix)       # the truth JSON (docs/scenarios.md, "Truth")

A world is deterministic: the same (spec, seed, hours) gives the same markets, prices, books and
trades. Nothing here shares pricing, fee or matching code with the console's strategy or execution.
"""

from polytui.sim.worlds.build import build_world
from polytui.sim.worlds.fees import FEE_SCHEDULES, FeeSchedule
from polytui.sim.worlds.spec import (
    ARCHETYPES,
    SpecError,
    WorldSpec,
    builtin_names,
    builtin_spec,
    load_spec,
    parse_spec,
)
from polytui.sim.worlds.world import (
    COPY_DELAYS,
    Wallet,
    World,
    WorldMarket,
    WorldTrade,
)

__all__ = [
    "ARCHETYPES",
    "COPY_DELAYS",
    "FEE_SCHEDULES",
    "FeeSchedule",
    "SpecError",
    "Wallet",
    "World",
    "WorldMarket",
    "WorldSpec",
    "WorldTrade",
    "build_world",
    "builtin_names",
    "builtin_spec",
    "load_spec",
    "parse_spec",
]
