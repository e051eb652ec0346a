"""A reloaded watch list reaches every whale feed of the running engine, the warm-up included."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from polytui.config import LoadedConfig
from polytui.sim.server import SimServer
from polytui.wiring import build_engine
from tests.test_engine_e2e import engine_settings

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
