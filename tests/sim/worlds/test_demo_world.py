"""``polytui --demo`` serves the honest ``demo`` world, lively enough for a ten-minute look."""

from __future__ import annotations

import httpx

from polytui.demo import DEMO_HOURS, DEMO_SCENARIO, DEMO_SEED, demo_environment
from polytui.sim.worlds import World, build_world, builtin_spec


def demo_world() -> World:
    return build_world(builtin_spec(DEMO_SCENARIO), seed=DEMO_SEED, hours=DEMO_HOURS)


def test_the_demo_environment_serves_the_demo_world_not_the_classic_scenario() -> None:
    expected = {m.condition_id for m in demo_world().markets}
    with demo_environment() as loaded:
        base = loaded.settings.feeds.gamma_url.rstrip("/")
        listed = {g["conditionId"] for g in httpx.get(f"{base}/markets", timeout=10).json()}
        watched = {w.lower() for w in loaded.settings.whales.wallets}
    assert listed and listed <= expected
    world = demo_world()
    assert watched == {w.wallet.lower() for w in world.wallets if w.watched}


def test_several_demo_markets_resolve_in_any_ten_minutes() -> None:
    world = demo_world()
    ends = sorted(m.end_s for m in world.markets if m.end_s > 0)
    fewest = min(
        sum(1 for e in ends if start <= e < start + 600)
        for start in range(0, int(DEMO_HOURS * 3600) - 600, 10)
    )
    assert fewest >= 2, fewest


def test_the_demo_watches_wallets_worth_copying_and_wallets_that_are_not() -> None:
    truth = demo_world().truth(0)
    watched = [w for w in truth["wallets"] if w["watched"]]
    at_2s: dict[str, list[float]] = {w["archetype"]: [] for w in watched}
    for w in watched:
        at_2s[w["archetype"]].append(w["copy_edge"]["2"])
    assert all(edge > 0 for edge in at_2s["informed_slow"]), at_2s
    # The fast informed wallet has edge at its own fills, none left for a copier 2 s late.
    assert all(edge < 0 for edge in at_2s["informed_fast"]), at_2s
    for archetype in ("noise", "longshot", "herd"):
        assert all(edge < 0 for edge in at_2s[archetype]), (archetype, at_2s)


def test_the_demo_signals_every_few_seconds() -> None:
    world = demo_world()
    watched = {w.wallet for w in world.wallets if w.watched}
    times = [tr.t for tr in world.trades if tr.wallet in watched and 0 <= tr.t < 600]
    assert len(times) >= 40, len(times)
    assert times[0] < 30, times[0]
