"""Mempool trades through the whole engine on the simulator: a signal marked pending-tx that the
chain's log confirms, and one whose transaction is dropped: its pending intent is withdrawn, or
the order already sent is flagged in the journal."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from polytui.config import LoadedConfig
from polytui.model import IntentStatus, Signal, TradeSource
from polytui.report import build_parity_rows, summary_line, totals
from polytui.sim.server import SimServer
from polytui.wiring import build_engine
from tests.test_engine_e2e import engine_settings, start, stop, wait_until


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    async with SimServer("demo", seed=7, speed=3) as server:
        os.environ.update(server.environment())
        yield server


def signal_of(engine: object, tx_hash: str) -> Signal | None:
    for signal in engine.publisher.signals.recent():  # type: ignore[attr-defined]
        if any(t.tx_hash == tx_hash for t in signal.trades):
            return signal
    return None


async def test_the_first_sighting_is_the_mempool_and_the_log_confirms_it(
    sim: SimServer, tmp_path: Path
) -> None:
    engine = build_engine(LoadedConfig(engine_settings(sim, tmp_path, "manual"), None))
    task = await start(engine)
    # A trade some seconds in: the engine has connected by then.
    watched = set(sim.whale_wallets)
    first = next(t for t in sim.scenario.trades if t.t > 8 and t.wallet in watched).tx_hash
    await wait_until(lambda: signal_of(engine, first) is not None, 20)
    signal = signal_of(engine, first)
    assert signal is not None and signal.pending_tx and signal.source is TradeSource.MEMPOOL
    await wait_until(lambda: not signal_of(engine, first).pending_tx, 20)  # type: ignore[union-attr]
    mined = list(engine.journal.events(kinds=["whale_tx_mined"]))
    await stop(engine, task)
    assert any(e.payload["tx_hash"] == first for e in mined)
    assert engine.feeds["mempool"].status().latency_ms is not None


async def test_a_dropped_transaction_withdraws_its_pending_intent(
    sim: SimServer, tmp_path: Path
) -> None:
    sim.drop_pending_txs(len(sim.scenario.trades))  # no settlement transaction is ever mined
    engine = build_engine(LoadedConfig(engine_settings(sim, tmp_path, "manual"), None))
    task = await start(engine)
    await wait_until(lambda: engine.journal.count("intent") >= 1, 20)
    intent_id = next(iter(engine.journal.events(kinds=["intent"]))).ref
    await wait_until(
        lambda: engine.strategy.approvals.get(intent_id).status is IntentStatus.REJECTED, 20
    )
    reason = engine.strategy.approvals.get(intent_id).reason
    await stop(engine, task)
    assert reason == "whale transaction dropped from the mempool before it was mined"


async def test_an_order_already_sent_is_flagged_when_its_whale_tx_is_dropped(
    sim: SimServer, tmp_path: Path
) -> None:
    sim.drop_pending_txs(len(sim.scenario.trades))
    engine = build_engine(LoadedConfig(engine_settings(sim, tmp_path, "auto"), None))
    task = await start(engine)

    def flagged_fills() -> list[str]:
        """Intents flagged for a dropped whale transaction whose copy has filled."""
        flags = {e.ref for e in engine.journal.events(kinds=["whale_tx_retracted"])}
        fills = engine.journal.events(kinds=["fill"])
        return [str(f.payload["intent_id"]) for f in fills if f.payload.get("intent_id") in flags]

    # The demo's books are deep enough that auto-approved copies fill at the paper latency, so
    # some flagged copy fills; the parity report must mark it.
    await wait_until(lambda: bool(flagged_fills()), 25)
    flag = next(iter(engine.journal.events(kinds=["whale_tx_retracted"]))).payload
    events = list(engine.journal.events())
    filled = set(flagged_fills())
    await stop(engine, task)
    assert flag["intent_status"] in ("approved", "filled", "failed")
    assert flag["reason"] == "whale transaction dropped from the mempool before it was mined"
    fills = [e.payload for e in events if e.kind == "fill"]
    rows = build_parity_rows(events)
    assert len(rows) == len(fills)  # one row per fill, in fill order
    marked = [
        row.flag for row, fill in zip(rows, fills, strict=True) if fill["intent_id"] in filled
    ]
    assert marked and all(m == flag["reason"] for m in marked)
    assert sum(1 for r in rows if r.flag) == len(marked)  # no unflagged copy is marked
    assert f"{len(marked)} copied a whale transaction never mined" in summary_line(totals(rows))
