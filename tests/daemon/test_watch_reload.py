"""A reloaded watch list reaches every whale feed of the running engine, the warm-up included."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path

import pytest

from polytui.config import LoadedConfig
from polytui.model import FeedState
from polytui.sim.server import SimServer
from polytui.wiring import build_engine
from tests.test_engine_e2e import engine_settings, wait_until

NEW = "0x" + "5a" * 20


async def test_every_whale_feed_follows_a_reloaded_watch_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with SimServer("demo", seed=7, speed=3) as sim:
        for key, value in sim.environment().items():
            monkeypatch.setenv(key, value)
        settings = engine_settings(sim, tmp_path, "manual")
        engine = build_engine(LoadedConfig(settings, None))
        try:
            feeds = engine.feeds
            assert {"chain", "activity", "mempool", "dataapi", "warm"} <= set(feeds)
            kept = settings.whales.wallets[0].lower()
            settings.whales.wallets = [kept, NEW.upper().replace("0X", "0x")]
            engine.watch_wallets(settings.whales.wallets)
            await asyncio.sleep(0)  # each source follows in a task (the chain's swap awaits)
            want = {kept, NEW}
            for name in ("chain", "activity", "mempool", "dataapi", "warm"):
                assert set(feeds[name].wallets) == want, name  # type: ignore[attr-defined]
        finally:
            engine.journal.close()


async def test_the_first_wallets_of_a_reload_start_the_data_api_and_the_warm_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with SimServer("demo", seed=7, speed=3) as sim:
        for key, value in sim.environment().items():
            monkeypatch.setenv(key, value)
        settings = engine_settings(sim, tmp_path, "manual")
        whale = settings.whales.wallets[0].lower()
        settings.whales.wallets = []
        settings.feeds.dataapi_poll_s = 0.2
        settings.feeds.warm_refresh_s = 0.2
        engine = build_engine(LoadedConfig(settings, None))
        task = asyncio.create_task(engine.run())
        try:
            dataapi, warm = engine.feeds["dataapi"], engine.feeds["warm"]
            rows = {s.name: s for s in engine.supervisor.statuses()}
            assert rows["dataapi"].state is FeedState.DISABLED
            assert rows["warm"].state is FeedState.DISABLED
            reloaded = copy.copy(engine.settings)
            reloaded.whales = copy.deepcopy(engine.settings.whales)
            reloaded.whales.wallets = [whale]
            engine.reload(reloaded)
            engine.watch_wallets(reloaded.whales.wallets)
            # the whale holds markets in the demo: the warm-up warms them, the poll asks for
            # the wallet's fills
            await wait_until(lambda: warm.warm_markets > 0, 15)  # type: ignore[attr-defined]
            await wait_until(lambda: dataapi.polls > 0, 15)  # type: ignore[attr-defined]
            rows = {s.name: s for s in engine.supervisor.statuses()}
            assert rows["dataapi"].state is not FeedState.DISABLED
            assert rows["warm"].state is not FeedState.DISABLED
        finally:
            await engine.stop()
            await asyncio.wait_for(task, 15)
            engine.journal.close()
