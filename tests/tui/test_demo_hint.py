"""The demo says on screen where its wallets' priors come from, and they come from history."""

from __future__ import annotations

import time
from decimal import Decimal

from polytui.config import LoadedConfig
from polytui.demo import (
    DEMO_HISTORY,
    DEMO_HISTORY_HOURS,
    DEMO_HOURS,
    DEMO_SCENARIO,
    DEMO_SEED,
    _profile,
    demo_environment,
)
from polytui.settings import Settings
from polytui.sim.worlds import build_world, builtin_spec
from polytui.tui.app import NO_WALLETS_HINT, first_run_hints


def test_the_demo_runs_the_default_strategy_and_says_its_priors_come_from_history() -> None:
    with demo_environment() as loaded:
        hints = first_run_hints(loaded, demo=True)
        strategy = loaded.settings.strategy
        started = time.monotonic()
        priors = _profile(loaded.settings, time.time())
        took = time.monotonic() - started
        watched = {w.lower() for w in loaded.settings.whales.wallets}
    assert hints == (DEMO_HISTORY,)
    assert f"{DEMO_HISTORY_HOURS:g} h of settled history" in DEMO_HISTORY
    assert strategy.prior_edge == Settings().strategy.prior_edge == Decimal(0)
    assert strategy.confidence_z == Settings().strategy.confidence_z
    # Every watched wallet is profiled from the world's past; only a copyable one brings edge.
    world = build_world(builtin_spec(DEMO_SCENARIO), seed=DEMO_SEED, hours=DEMO_HOURS)
    kind = {w.wallet.lower(): w.archetype for w in world.wallets}
    assert set(priors) == watched
    for wallet, prior in priors.items():
        if prior.edge > 0:
            assert prior.copyable and kind[wallet] == "informed_slow", (kind[wallet], prior)
    assert any(p.edge > 0 for p in priors.values())
    print(f"demo profiles: {len(priors)} wallets in {took:.1f} s")
    real = first_run_hints(LoadedConfig(Settings(), None), demo=False)
    assert real == (NO_WALLETS_HINT,)
