"""A backtest starts from profiles of the watched wallets, built from the world's served past.

The past is served on loopback by the simulator's own data-api routes with its clock held at
the start, and fetched by ``polytui whales``' session: nothing after the start is visible, the
profiles land in the backtest's journal, and the engine starts from them as the console does.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from polytui.backtest.command import backtest_report
from polytui.backtest.past import serve_past
from polytui.backtest.run import prepare_settings, run_world
from polytui.backtest.vclock import VirtualTimeLoop, run_virtual
from polytui.backtest.world import EPOCH_UNIX, ScenarioWorld, open_world
from polytui.config import LoadedConfig
from polytui.feeds.history import HistoryClient, Query
from polytui.feeds.http import make_client
from polytui.settings import Settings

WORLD = """
name = "tiny-past"
hours = 1
history_hours = 4

[[markets]]
name = "fast"
count = 3
duration_s = [600, 1200]
fee = "crypto_fees_v2"
depth = 800
category = "crypto"

[[markets]]
name = "slow"
count = 1
duration_s = [7200, 9000]
fee = "none"
rolling = true

[[whales]]
archetype = "informed_slow"
alias = "slow"
every_s = 90
accuracy = 0.8
watched = true

[[whales]]
archetype = "noise"
count = 2
alias = "noise"
every_s = 90
watched = true
"""
DEFAULTS = LoadedConfig(Settings(), None)


@pytest.fixture(scope="module")
def world_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("world") / "tiny.toml"
    path.write_text(WORLD)
    return path


def _world(path: Path) -> ScenarioWorld:
    return open_world(None, path, seed=3, hours=0.25)


def test_the_served_past_ends_at_the_start(world_file: Path) -> None:
    world = _world(world_file)
    past = world.with_past()
    assert past is not None and any(tr.t < 0 for tr in past.trades)
    assert any(tr.t >= 0 for tr in past.trades)  # the present is in the world, not served

    async def fetch() -> list[int]:
        async with serve_past(past, world.hours) as base:
            client = make_client(5.0)
            history = HistoryClient(client, f"{base}/data")
            stamps: list[int] = []
            for wallet, _ in world.watched():
                async for page in history.pages("trades", Query(user=wallet)):
                    stamps += [t.ts_ms for t in page.trades]
            await client.aclose()
            return stamps

    stamps = run_virtual(fetch(), VirtualTimeLoop())
    assert stamps and max(stamps) < EPOCH_UNIX * 1000


def test_the_engine_starts_from_the_profiles_of_the_past(world_file: Path) -> None:
    world = _world(world_file)
    cold = run_world(world, DEFAULTS, history=False)
    warm = run_world(_world(world_file), DEFAULTS, history=True)
    assert cold.profiles == 0
    assert warm.profiles == len(world.watched()) == 3
    slow = next(w for w, alias in world.watched() if alias.startswith("slow"))
    # The same live record, but the warm start carries its history's evidence: a surer edge.
    assert cold.resolved[slow] == warm.resolved[slow]
    assert Decimal(warm.estimates[slow]["whale_edge_se"]) < Decimal(
        cold.estimates[slow]["whale_edge_se"]
    )


def test_the_report_counts_the_profiles_and_a_world_without_past_has_none(
    world_file: Path,
) -> None:
    report = backtest_report(
        DEFAULTS, scenario="demo", scenario_file=None, seed=7, hours=0.05
    )  # the demo world has no past
    assert report["history_profiles"] == 0
    settings, _ = prepare_settings(DEFAULTS, _world(world_file), Path("."))
    assert len(settings.whales.wallets) == 3
