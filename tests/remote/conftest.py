"""A simulator per module and an in-process engine on it (manual approvals), for the bot and
the metrics endpoint to talk to."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from polytui.config import LoadedConfig, apply_overrides
from polytui.demo import SimThread
from polytui.settings import Settings
from polytui.wiring import build_engine


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    thread = SimThread("demo", seed=7, speed=10.0)
    server = thread.start()
    yield server
    thread.stop()


def sim_settings(sim: Any, data_dir: Path, ttl_s: float = 20.0) -> Settings:
    s = apply_overrides(Settings(), sim.settings_overrides())
    s.storage.data_dir = data_dir
    s.approval.policy = "manual"
    s.approval.ttl_s = ttl_s
    s.strategy.prior_edge, s.strategy.confidence_z = Decimal("0.2"), Decimal(0)
    s.strategy.max_bet_usd = Decimal(25)
    s.paper.starting_balance_usd = Decimal(1000)
    s.paper.latency_ms = 50
    s.paper.slippage_cap = Decimal("0.10")
    s.risk.max_total_exposure_usd = Decimal(400)
    s.risk.max_market_exposure_usd = Decimal(100)
    s.risk.max_open_positions = 50
    return s


@pytest.fixture
async def engine(sim: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Any]:
    for name, value in sim.environment().items():
        monkeypatch.setenv(name, value)
    built = build_engine(LoadedConfig(sim_settings(sim, tmp_path / "data"), None))
    task = asyncio.create_task(built.run())
    await asyncio.sleep(0)
    yield built
    await built.stop()
    # Generous: a loaded machine stops an engine that is still connecting its feeds slowly.
    # How an engine stops is the daemon tests' subject; here it only has to be gone.
    _, pending = await asyncio.wait({task}, timeout=60)
    for late in pending:
        late.cancel()
    await asyncio.gather(task, return_exceptions=True)
    built.journal.close()
