"""The engine end to end across a restart: trades made while it was down become signals, once."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest

from polytui import events as ev
from polytui.config import LoadedConfig, apply_overrides
from polytui.engine import CURSOR_KEY
from polytui.settings import Settings
from polytui.sim.server import SimServer
from polytui.wiring import build_engine


def settings(sim: SimServer, data_dir: Path) -> Settings:
    s = apply_overrides(Settings(), sim.settings_overrides())
    s.storage.data_dir = data_dir
    s.approval.policy = "observe"
    s.paper.starting_balance_usd = D(1000)
    return s


async def wait_until(check: object, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.05)


async def test_a_restart_catches_up_the_downtime_once_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with SimServer("demo", seed=11, speed=20) as sim:
        for key, value in sim.environment().items():
            monkeypatch.setenv(key, value)  # the node URL, gone with the simulator
        watched = set(sim.whale_wallets)
        loaded = LoadedConfig(settings(sim, tmp_path), None)

        engine = build_engine(loaded)
        task = asyncio.create_task(engine.run())
        await wait_until(
            lambda: (engine.journal.get_state(CURSOR_KEY) or {}).get("chain_block"), 15
        )
        await wait_until(lambda: engine.journal.count("signal") >= 2, 15)
        await engine.stop()
        await asyncio.wait_for(task, 15)
        engine.journal.close()
        down_from = datetime.now(UTC)
        seen_before = len(sim.ground_truth)

        await asyncio.sleep(2.0)  # down: 40 sim seconds of whale trading
        missed = [t for t in sim.ground_truth[seen_before:] if t.wallet in watched]
        assert missed, "no watched trade while down; the test proves nothing"

        engine = build_engine(loaded)
        assert engine.cursor.since is not None and engine.cursor.since <= down_from
        notices = engine.subscribe()
        task = asyncio.create_task(engine.run())
        said: list[str] = []

        async def listen() -> None:
            while True:
                for event in notices.drain():
                    if isinstance(event, ev.Notice) and "missed while down" in event.message:
                        said.append(event.message)
                await asyncio.sleep(0.05)

        listener = asyncio.create_task(listen())
        await wait_until(lambda: said, 15)
        await engine.stop()
        await asyncio.wait_for(task, 15)
        listener.cancel()

        signals = list(engine.journal.events(kinds=["signal"]))
        engine.journal.close()
        per_fill = Counter((s.payload["tx_hash"].lower(), s.payload["wallet"]) for s in signals)
        assert all(n == 1 for n in per_fill.values()), per_fill
        late = {
            (s.payload["tx_hash"].lower(), s.payload["wallet"]): s.payload["latency_ms"]
            for s in signals
        }
        for trade in missed:
            key = (trade.tx_hash.lower(), trade.wallet)
            assert key in late, f"missed trade {key} has no signal"
        # Honest latency: a caught-up trade was seen seconds after its match, not ~2 s.
        assert max(late[(t.tx_hash.lower(), t.wallet)] for t in missed) >= 1_000
        # The notice counts what the catch-up sources brought; a trade matched just before the
        # restart can still arrive on a live source afterwards and is counted as caught up too.
        announced = re.match(r"caught up (\d+) whale trades missed while down", said[0])
        assert announced is not None, said[0]
        assert 0 < int(announced.group(1)) <= engine.cursor.caught_up
        assert engine.cursor.caught_up >= len(missed)
