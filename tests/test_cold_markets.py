"""Cold markets end to end: simulator (latency injected by the server) → RTDS → engine.

A trade in a market nobody has looked at waits for its metadata and book beside the inbox; it
never holds up a trade in a warm market, one market's trades are decided in arrival order, and a
market that is not ready in time is decided without a book (never copied), counted and
journaled with why. Nothing here measures time: the injected delays only make the cold market
the slow one.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from polytui import events as ev
from polytui.config import LoadedConfig, apply_overrides
from polytui.engine import Engine
from polytui.model import IntentStatus, Side
from polytui.settings import Settings
from polytui.sim.handmade import handmade_scenario, made_up_fill
from polytui.sim.scenario import SimTrade
from polytui.sim.server import SimServer
from polytui.wiring import build_engine

WARM = 0  # every whale holds markets 0 and 1; the others are cold


@dataclass
class Run:
    sim: SimServer
    engine: Engine
    sent: int = 0

    async def fill(self, whale: int, market: int) -> tuple[str, str]:
        """A whale's buy of a market's YES sent on RTDS now; its (wallet, token)."""
        trade = await self.send(whale, market)
        return trade.wallet, trade.token_id

    async def send(self, whale: int, market: int) -> SimTrade:
        self.sent += 1
        scenario = self.sim.scenario
        wallet = scenario.whales[whale].wallet
        trade = made_up_fill(scenario.markets[market], wallet, True, self.sim.now(), str(self.sent))
        await self.sim.publish_fills([trade])
        return trade

    def signals(self) -> list[dict[str, Any]]:
        return [e.payload for e in self.engine.journal.events(kinds=["signal"])]

    def order(self) -> list[tuple[str, str]]:
        return [(str(p["wallet"]).lower(), str(p["token_id"])) for p in self.signals()]


def settings(sim: SimServer, data_dir: Path) -> Settings:
    s = apply_overrides(Settings(), sim.settings_overrides())
    s.storage.data_dir = data_dir
    s.approval.policy = "manual"
    s.strategy.prior_edge, s.strategy.confidence_z = D("0.2"), D(0)  # copy unmeasured whales
    s.paper.starting_balance_usd = D(100_000)
    s.feeds.chain_enabled = False
    s.feeds.dataapi_poll_enabled = False
    return s


async def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.02)


@pytest.fixture
async def run(tmp_path: Path) -> AsyncIterator[Run]:
    async with SimServer(handmade_scenario(markets=6, whales=3, held=2)) as sim:
        os.environ.pop(Settings().feeds.polygon_ws_env, None)
        engine = build_engine(LoadedConfig(settings(sim, tmp_path), None))
        task = asyncio.create_task(engine.run())
        warm = sim.scenario.markets[WARM]

        def warmed() -> bool:
            book = engine.books.get(warm.yes_token)
            rtds = engine.feeds["activity"].status().connected
            return rtds and book is not None and not book.stale

        await wait_until(warmed)
        yield Run(sim, engine)
        await engine.stop()
        await asyncio.wait_for(task, 15)
        engine.journal.close()


async def test_a_cold_market_does_not_hold_up_a_warm_one(run: Run) -> None:
    run.sim.inject_latency(rest_s=0.4, subscribe_s=0.4)
    cold = await run.fill(0, 4)
    warm = await run.fill(1, WARM)
    await wait_until(lambda: len(run.signals()) == 2)
    assert run.order() == [warm, cold]  # the warm trade was decided while the cold one waited
    assert all(p["decision"] == "intent" for p in run.signals())
    assert run.engine.cold.not_ready == 0
    await wait_until(run.engine.idle)


async def test_one_markets_trades_are_decided_in_arrival_order(run: Run) -> None:
    run.sim.inject_latency(rest_s=0.3, subscribe_s=0.3)
    sent = [await run.fill(whale, 5) for whale in (2, 0, 1)]
    await wait_until(lambda: len(run.signals()) == 3)
    assert run.order() == sent
    assert all(p["decision"] == "intent" for p in run.signals())


async def test_a_market_not_ready_in_time_is_decided_without_a_book_and_counted(
    run: Run,
) -> None:
    run.sim.inject_latency(rest_s=0.0, subscribe_s=5.0)  # the book comes after the wait
    cold = await run.fill(0, 3)
    await wait_until(lambda: run.engine.cold.pending == 1)
    warm = await run.fill(1, WARM)  # decided meanwhile
    await wait_until(lambda: len(run.signals()) == 2)
    assert run.order() == [warm, cold]
    late = run.signals()[1]
    assert late["decision"] == "observed" and late["reason"] == "no live order book"
    assert "not ready" in late["not_ready"]
    assert run.engine.cold.timeouts == 1 and run.engine.cold.not_ready == 1
    assert run.engine.journal.count("intent") == 1  # the warm one only


async def test_a_pending_intent_shown_before_its_commit_is_saved_by_the_tick(run: Run) -> None:
    sub = run.engine.subscribe()
    await run.fill(0, WARM)
    pending: list[str] = []
    while not pending:
        pending = [
            e.intent.id
            for e in await sub.wait(5)
            if isinstance(e, ev.IntentUpdated) and e.intent.status is IntentStatus.PENDING
        ]

    def saved() -> set[str]:
        state = run.engine.journal.get_state("strategy") or {}
        return {str(i["id"]) for i in state.get("intents", [])}

    await wait_until(lambda: pending[0] in saved())  # the tick saved the queue with it
    assert run.engine.journal.count("intent") == 1


async def test_news_of_a_parked_trade_waits_behind_it(run: Run) -> None:
    # A mempool trade's transaction dropped while the trade waits for its market: the
    # withdrawal comes after the decision, so the intent built on it is withdrawn, not kept.
    run.sim.inject_latency(rest_s=0.0, subscribe_s=0.8)
    trade = await run.send(0, 4)
    await wait_until(lambda: run.engine.cold.pending == 1)
    key = (trade.tx_hash.lower(), trade.wallet.lower(), trade.token_id, Side.BUY, trade.shares)
    run.engine.inbox.submit_tx_gone(key, "dropped")
    await wait_until(lambda: run.engine.cold.pending == 2)  # behind the trade, not before it
    approvals = run.engine.strategy.approvals

    def decided() -> list[Any]:
        ids = {e.ref for e in run.engine.journal.events(kinds=["intent"])}
        return [
            i for i in map(approvals.get, ids) if i is not None and i.token_id == trade.token_id
        ]

    await wait_until(lambda: bool(decided()) and run.engine.idle())
    (intent,) = decided()
    assert intent.status is IntentStatus.REJECTED and "dropped" in intent.reason
