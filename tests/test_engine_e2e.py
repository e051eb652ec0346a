"""End to end: simulator → real feeds → engine → strategy → paper broker → journal."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from decimal import Decimal as D
from pathlib import Path

import pytest

from polytui import events as ev
from polytui.config import LoadedConfig, apply_overrides
from polytui.engine import Engine
from polytui.model import IntentStatus
from polytui.settings import Settings
from polytui.sim.server import SimServer
from polytui.wiring import build_engine


def engine_settings(sim: SimServer, data_dir: Path, policy: str) -> Settings:
    s = apply_overrides(Settings(), sim.settings_overrides())
    s.storage.data_dir = data_dir
    s.approval.policy = policy
    s.strategy.prior_edge, s.strategy.confidence_z = D("0.2"), D(0)  # copy unmeasured whales
    s.paper.starting_balance_usd = D(1000)
    s.paper.latency_ms = 50
    return s


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    async with SimServer("demo", seed=7, speed=3) as server:
        os.environ.update(server.environment())
        yield server


async def wait_until(check: Callable[[], bool], timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.05)


async def start(engine: Engine) -> asyncio.Task[None]:
    return asyncio.create_task(engine.run())


async def stop(engine: Engine, task: asyncio.Task[None]) -> None:
    await engine.stop()
    await asyncio.wait_for(task, 15)


async def test_auto_policy_copies_whale_cluster_into_journaled_fills(
    sim: SimServer, tmp_path: Path
) -> None:
    engine = build_engine(LoadedConfig(engine_settings(sim, tmp_path, "auto"), None))
    task = await start(engine)
    await wait_until(lambda: engine.journal.count("fill") >= 1, 30)
    # Every whale source delivered, and the stream merged the same fills from several.
    # (The first fill can come before the slower sources have delivered anything.)
    await wait_until(lambda: engine.feeds["chain"].status().messages >= 1, 10)
    await wait_until(lambda: engine.feeds["activity"].status().messages >= 1, 10)
    await wait_until(lambda: engine.stream.duplicates >= 1, 10)
    await stop(engine, task)
    fills = list(engine.journal.events(kinds=["fill"]))
    assert len({f.ref for f in fills}) == len(fills)
    signals = list(engine.journal.events(kinds=["signal"]))
    assert signals and all("reason" in s.payload for s in signals)
    p = engine.portfolio
    assert p.cash + p.cost_basis() == p.starting_balance + p.realized
    assert engine.journal.integrity_ok()


async def test_manual_approval_through_the_engine_api_fills(sim: SimServer, tmp_path: Path) -> None:
    engine = build_engine(LoadedConfig(engine_settings(sim, tmp_path, "manual"), None))
    sub = engine.subscribe()
    task = await start(engine)
    intent_id = ""
    deadline = asyncio.get_running_loop().time() + 30
    while not intent_id and asyncio.get_running_loop().time() < deadline:
        for event in await sub.wait(0.5):
            if isinstance(event, ev.IntentUpdated) and event.intent.status is IntentStatus.PENDING:
                intent_id = event.intent.id
    assert intent_id, "no pending intent from the simulator's whale cluster"
    result = await engine.command("approve", intent_id=intent_id)
    assert result.ok, result.message
    again = await engine.command("approve", intent_id=intent_id)
    assert not again.ok and "already" in again.message
    await wait_until(lambda: engine.journal.count("fill") >= 1, 10)
    assert (await engine.command("nonsense")).ok is False
    await stop(engine, task)


async def test_pause_blocks_new_intents_and_state_survives_restart(
    sim: SimServer, tmp_path: Path
) -> None:
    settings = engine_settings(sim, tmp_path, "auto")
    engine = build_engine(LoadedConfig(settings, None))
    task = await start(engine)
    await wait_until(lambda: engine.journal.count("fill") >= 1, 30)
    assert (await engine.command("pause")).ok
    await stop(engine, task)
    cash = engine.portfolio.cash
    positions = engine.portfolio.positions_by_resolution(engine.clock.now())
    engine.journal.close()

    again = build_engine(LoadedConfig(settings, None))
    again.restore()
    assert again.strategy.risk.paused
    assert again.portfolio.cash == cash
    assert [p.token_id for p in again.portfolio.positions_by_resolution(again.clock.now())] == [
        p.token_id for p in positions
    ]
    again.journal.close()


def test_engine_imports_no_textual() -> None:
    import subprocess
    import sys

    # The static contract sees every import statement; this also catches one made by name at
    # run time (importlib) on the headless paths.
    code = (
        "import polytui.engine, polytui.wiring, polytui.daemon, polytui.control, polytui.capture"
        ", polytui.remote.services, sys; print('textual' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_freeze_heap_freezes_once_per_process() -> None:
    import gc

    from polytui import engine as engine_module

    engine_module.freeze_heap()
    frozen = gc.get_freeze_count()
    assert frozen > 0
    since = [[n] for n in range(1000)]  # tracked objects made after the first call
    engine_module.freeze_heap()  # the second call must not freeze them
    assert gc.get_freeze_count() == frozen
    assert since
