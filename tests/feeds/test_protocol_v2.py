"""Protocol V2 markets (Gamma ``version: "v2"``): keyed by ``positionIds``, never mis-keyed, and
marked not supported (their fills settle through ExchangeV3, which the chain feed does not watch).

The parser runs on the shared Gamma capture turned into a V2 record as the docs describe it; the
directory, the whale stream and the engine run against the simulator serving one market as V2,
whose ``clobTokenIds`` then hold other ids and whose trades never appear as CTFExchangeV2 logs.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from polytui.config import LoadedConfig, apply_overrides
from polytui.feeds.dataapi import trade_from_dataapi
from polytui.feeds.gamma import GammaError, MarketDirectory, market_from_gamma
from polytui.feeds.http import make_client
from polytui.feeds.stream import WhaleStream
from polytui.model import WhaleTrade
from polytui.settings import Settings
from polytui.sim.server import SimServer
from polytui.sim.wire import ctf_token_id, dataapi_row, dumps
from polytui.wiring import build_engine
from tests.conftest import load_sample

RECORD = load_sample("gamma_market_sports_negrisk_fees.live_capture_trimmed.json")["market"]
CTF_IDS = json.loads(RECORD["clobTokenIds"])
POSITION_IDS = ["11", "22"]
V2 = dict(RECORD, version="v2", positionIds=POSITION_IDS)  # clobTokenIds left in place


def test_a_v2_record_is_keyed_by_position_ids_even_with_clob_token_ids_present() -> None:
    market = market_from_gamma(V2)
    assert [o.token_id for o in market.outcomes] == POSITION_IDS
    assert all(market.outcome_for(t) is None for t in CTF_IDS)
    assert market.version == "v2" and "ExchangeV3" in market.unsupported
    v1 = market_from_gamma(dict(RECORD, version="v1", positionIds=POSITION_IDS))
    assert [o.token_id for o in v1.outcomes] == CTF_IDS and v1.unsupported == ""
    assert market_from_gamma(RECORD).version == "v1"  # records from before Protocol V2


@pytest.mark.parametrize(
    "change",
    [
        {"version": "v3"},
        {"positionIds": None},
        {"positionIds": ["11"]},
        {"positionIds": ["0x11", "22"]},
        {"positionIds": [11.5, "22"]},
    ],
)
def test_a_v2_record_without_usable_ids_is_a_bad_record(change: dict[str, Any]) -> None:
    with pytest.raises(GammaError):
        market_from_gamma(dict(V2, **change))


# --- against the simulator ------------------------------------------------------------------


async def wait_until(check: Callable[[], bool], timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


async def test_a_v2_market_is_found_by_its_trades_condition_and_stays_found() -> None:
    async with SimServer("demo", seed=7) as sim:
        trade = sim.scenario.trades[0]
        market = sim.scenario.market(trade.market)
        sim.serve_as_protocol_v2(market.condition_id)
        client = make_client()
        got: list[WhaleTrade] = []
        try:
            # A zero TTL: every lookup after the first is a refresh.
            directory = MarketDirectory(client, sim.urls["gamma_url"], ttl_s=0.0)
            assert await directory.get_by_token(trade.token_id) is None  # not a clobTokenId
            stream = WhaleStream(
                directory.get_by_token,
                got.append,
                lookup_condition=directory.get_by_condition,
                wait_for_metadata_s=1.0,
            )
            task = asyncio.create_task(stream.run())
            row = dataapi_row(sim.scenario, trade, sim.wall(trade.t))
            stream.offer(trade_from_dataapi(json.loads(dumps(row)), _now()))
            await wait_until(lambda: len(got) == 1, 5.0)
            task.cancel()
            again = await directory.get_by_token(trade.token_id)
            decoy = await directory.get_by_token(ctf_token_id(trade.token_id))
        finally:
            await client.aclose()
    assert got[0].condition_id == market.condition_id and got[0].outcome == trade.outcome
    assert again is not None and again.version == "v2"
    assert again.outcome_for(trade.token_id) is not None
    assert decoy is None  # a clobTokenId of a V2 market never names an outcome


def _now() -> datetime:
    return datetime.now(UTC)


async def test_the_engine_copies_no_v2_market_and_never_subscribes_its_ids(
    tmp_path: Path,
) -> None:
    async with SimServer("demo", seed=7, speed=10) as sim:
        v2 = {m.condition_id for m in sim.scenario.markets}  # every market is V2
        for condition_id in v2:
            sim.serve_as_protocol_v2(condition_id)
        os.environ.update(sim.environment())
        s = apply_overrides(Settings(), sim.settings_overrides())
        s.storage.data_dir = tmp_path
        s.approval.policy = "auto"
        s.strategy.prior_edge, s.strategy.confidence_z = D("0.2"), D(0)  # copy unmeasured whales
        engine = build_engine(LoadedConfig(s, None))
        task = asyncio.create_task(engine.run())
        try:
            await wait_until(lambda: engine.journal.count("signal") >= 3, 60)
        finally:
            await engine.stop()
            await asyncio.wait_for(task, 15)
        signals = [e.payload for e in engine.journal.events(kinds=["signal"])]
        intents = engine.journal.count("intent")
        subscribed = {t for c in sim.hub.of_kind("clob") for t in c.tokens} | engine.clob.tokens
        engine.journal.close()
    decisions = {str(p.get("reason", "")) for p in signals}
    assert signals and intents == 0
    assert any("not supported" in r and "ExchangeV3" in r for r in decisions), decisions
    assert not subscribed  # no book asked for, under either id
