"""`polytui whales discover` and `rank` (real processes) against a world whose truth is known.

The simulator serves the built-in ``whales`` world (30 wallets of every archetype) with a
settled past on loopback; the CLI profiles every wallet from the served history and the result
is compared with the world's truth (``bench.whale_truth.compare``). The reduced form (``make
test``) has 8 h of history and a sparser retail tape, so its thresholds are looser; ``POLYTUI_FULL=1`` runs the 48 h
world with the issue's own numbers (Spearman ≥ 0.8, ≥ 80 % of the copyable wallets in
discover's top 20). Rate limits are raised tenfold on both sides here to keep the run short;
that the client keeps to the published ones is tested in tests/sim/test_history_served.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bench.whale_truth import compare
from polytui.config import apply_overrides, write_config
from polytui.journal import Journal, journal_path
from polytui.settings import Settings
from polytui.sim.server import SimServer
from polytui.sim.worlds import World, builtin_spec
from polytui.sim.worlds.past import build_world_with_past, truth_with_history
from polytui.whales.store import ProfileStore
from tests.conftest import FULL

CLI = [sys.executable, "-c", "from polytui.cli import main; main()"]
PAST_HOURS = 48.0 if FULL else 8.0
MIN_RESOLVED = 20 if FULL else 10


@pytest.fixture(scope="module")
def world() -> World:
    spec = builtin_spec("whales")
    if not FULL:  # a sparser retail tape: fewer rows to fetch and store, the same truth
        spec = replace(spec, markets=tuple(replace(m, tape_s=8.0) for m in spec.markets))
    return build_world_with_past(spec, past_hours=PAST_HOURS)


async def _cli(*args: str) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1"},
    )
    out, err = await asyncio.wait_for(proc.communicate(), 1800)
    assert proc.returncode == 0, err.decode()[-2000:]
    result: dict[str, Any] = json.loads(out)
    return result


@pytest.mark.timeout(1800 if FULL else 600)
async def test_profiles_rank_by_true_copy_edge_and_match_the_realized_pnl(
    tmp_path: Path, world: World
) -> None:
    async with SimServer(world=world) as sim:
        assert sim.history is not None
        limits = sim.history.throttle.limits
        for name, (paths, limit) in list(limits.items()):
            limits[name] = (paths, limit * 10)
        overrides = sim.settings_overrides()
        overrides["storage"] = {"data_dir": str(tmp_path / "data")}
        overrides["history"] = {
            "min_resolved": MIN_RESOLVED,
            "requests_per_10s": 10_000,
            "trades_per_10s": 2_000,
            "positions_per_10s": 1_500,
        }
        config = write_config(apply_overrides(Settings(), overrides), tmp_path / "sim.toml")
        truth = truth_with_history(world, origin_unix=sim.world.wall0)
        found = await _cli(
            "whales", "discover", "--json", "--period", "week", "--limit", "20",
            "--config", str(config),
        )  # fmt: skip
        assert not found["errors"]
        wallets = [w.wallet for w in world.wallets]
        ranked = await _cli(
            "whales", "rank", *wallets, "--json", "--no-refresh", "--config", str(config)
        )
    journal = Journal.open(journal_path(tmp_path / "data", "paper"), mode="paper", backup=False)
    try:
        profiles = ProfileStore(journal).profiles()
    finally:
        journal.close()
    rows = [
        {**r, "settled_pnl_usd": profiles[r["wallet"]].extra["settled_pnl_usd"]}
        for r in ranked["wallets"]
    ]
    figures = compare(truth, rows, found["candidates"])
    print("TRUTH", json.dumps(figures))
    assert figures["wallets"] == 30
    # ranked by true copy edge; the copyable ones found
    assert figures["spearman_copy_edge_2s"] >= (0.8 if FULL else 0.6)
    need = 0.8 if FULL else 0.6
    assert figures["copyable_in_discover_top20"] >= need * figures["truly_copyable"]
    # every fast informed wallet is uncopyable; with the full history, because of the delay
    assert figures["fast_uncopyable"] == figures["fast_informed"] == 4
    if FULL:
        assert figures["fast_edge_gone_reason"] == 4
    # longshot gamblers are labelled so, nobody else is
    assert figures["longshot_labelled"] == figures["longshot"] == 4
    assert figures["others_labelled_longshot"] == 0
    # no false skill among the wallets without information (chance: 2.5 % of 17, allow one)
    assert figures["no_information_edge_above_0"] <= 1
    # realized P&L: the closed positions' sum is the truth's to the micro-dollar; the profile's
    # own P&L from fills, settlements and fee schedules within a cent per settled position
    assert Decimal(figures["max_realized_pnl_gap_usd"]) == 0
    assert figures["settled_pnl_within_tolerance"] == figures["settled_pnl_checked"] == 30
    by_wallet = {w.wallet: w for w in world.wallets}
    for row in rows:
        if by_wallet[row["wallet"]].archetype == "informed_fast":
            assert row["copyable"] is False and row["reason"]
