"""A recording keeps what the mempool source read (its matchOrders transactions and their
retractions), and a replay feeds them to the same parser, with no node."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from polytui.capture import CaptureWriter, read_capture, run_replay
from polytui.config import LoadedConfig, apply_overrides
from polytui.settings import Settings


async def test_the_mempool_source_is_recorded_and_replayed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from polytui.capture import recording_engine
    from polytui.sim.server import SimServer

    capture = tmp_path / "sim.jsonl"
    writer = CaptureWriter(capture)
    async with SimServer("demo", seed=7, speed=3) as sim:
        for key, value in sim.environment().items():
            monkeypatch.setenv(key, value)  # the node URL, gone with the simulator
        settings = apply_overrides(Settings(), sim.settings_overrides())
        settings.storage.data_dir = tmp_path / "live"
        settings.approval.policy = "observe"
        engine = recording_engine(LoadedConfig(settings, None), writer, role="console")
        task = asyncio.create_task(engine.run())
        for _ in range(200):
            await asyncio.sleep(0.05)
            if engine.feeds["mempool"].status().connected:
                break
        sim.drop_pending_txs(1)  # the next settlement never mines: a retraction is recorded
        for _ in range(300):
            await asyncio.sleep(0.05)
            if engine.feeds["mempool"].retracted and engine.feeds["mempool"].matches >= 3:
                break
        await engine.stop()
        await task
        engine.journal.close()
    writer.close()
    recorded = [json.loads(i.data) for i in read_capture(capture) if i.src == "mempool"]
    assert any("tx" in r for r in recorded)
    assert [r["reason"] for r in recorded if "retract" in r] == ["dropped from the mempool"]
    items = list(read_capture(capture))
    result = await run_replay(items, speed=1, max_speed=True, data_dir=tmp_path / "replay")
    assert result.rejected["mempool"] == 0
    assert any(t["source"] == "mempool" for t in result.whale_trades)
