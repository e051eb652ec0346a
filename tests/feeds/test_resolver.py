"""Resolutions from REST: Gamma's closed record, the CLOB's winner flag, the data-api payouts.

The parsers run on the shared Gamma capture; the resolver runs against the simulator with
``market_resolved`` dropped, as the real channel did for months in 2026.
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
from polytui.feeds.gamma import market_from_gamma
from polytui.feeds.resolver import (
    resolution_from_clob,
    resolution_from_data_api,
    resolution_from_gamma,
)
from polytui.settings import Settings
from polytui.sim.server import SimServer
from polytui.wiring import build_engine
from tests.conftest import load_sample

RECORD = load_sample("gamma_market_sports_negrisk_fees.live_capture_trimmed.json")["market"]
YES, NO = json.loads(RECORD["clobTokenIds"])
CID = RECORD["conditionId"]
AT = datetime(2026, 8, 9, tzinfo=UTC)


def gamma(**change: Any) -> Any:
    return resolution_from_gamma(market_from_gamma(dict(RECORD, **change)), AT)


def test_gamma_final_result_names_the_winner() -> None:
    result = gamma(closed=True, umaResolutionStatus="resolved", outcomePrices='["0", "1"]')
    assert result is not None and result.source == "gamma"
    assert result.winning_token_id == NO and result.payout(YES) == 0 and result.payout(NO) == 1


def test_gamma_void_pays_half_each() -> None:
    result = gamma(closed=True, umaResolutionStatus="resolved", outcomePrices='["0.5", "0.5"]')
    assert result is not None and result.void and result.winning_token_id == ""
    assert result.payout(YES) == result.payout(NO) == D("0.5")


@pytest.mark.parametrize(
    "change",
    [
        {"closed": False, "outcomePrices": '["0", "1"]'},  # not closed yet
        {"closed": True, "umaResolutionStatus": "proposed", "outcomePrices": '["0", "1"]'},
        {"closed": True, "umaResolutionStatus": "disputed", "outcomePrices": '["1", "0"]'},
        {"closed": True, "outcomePrices": '["0.9995", "0.0005"]'},  # still trading to the end
        {"closed": True, "outcomePrices": '["1", "1"]'},
        {"closed": True, "outcomePrices": '["sNaN", "1"]'},
        {"closed": True, "umaResolutionStatuses": '["resolved", "disputed"]'},
    ],
)
def test_gamma_without_a_final_answer_is_no_result(change: dict[str, Any]) -> None:
    assert gamma(**change) is None
    assert market_from_gamma(dict(RECORD, **change)).winning_token_id is None


def test_gamma_older_records_use_the_last_status_of_the_list() -> None:
    result = gamma(
        closed=True, umaResolutionStatuses='["proposed", "resolved"]', outcomePrices='["1", "0"]'
    )
    assert result is not None and result.winning_token_id == YES


def test_clob_winner_flag() -> None:
    body = {
        "condition_id": CID,
        "tokens": [
            {"token_id": YES, "outcome": "Yes", "price": 1, "winner": True},
            {"token_id": NO, "outcome": "No", "price": 0, "winner": False},
        ],
    }
    result = resolution_from_clob(CID, body, AT)
    assert result is not None and result.winning_token_id == YES and result.source == "clob"
    for token in body["tokens"]:
        token["winner"] = False
    assert resolution_from_clob(CID, body, AT) is None
    assert resolution_from_clob("0xother", dict(body, condition_id="0xother"), AT) is None
    assert resolution_from_clob(CID, {"error": "not found"}, AT) is None


def test_data_api_payouts_in_millionths() -> None:
    market = market_from_gamma(RECORD)
    row = {"condition_id": CID, "status": "resolved", "payouts": [0, 1_000_000]}
    result = resolution_from_data_api(CID, {"data": [row]}, market, AT)
    assert result is not None and result.winning_token_id == NO
    void = resolution_from_data_api(
        CID, {"data": [dict(row, payouts=[500_000, 500_000])]}, market, AT
    )
    assert void is not None and void.void and void.payout(YES) == D("0.5")
    for bad in (
        dict(row, status="proposed"),
        dict(row, payouts=[1_000_000, 1_000_000]),
        dict(row, payouts=[1_000_000]),
        dict(row, payouts=["x", 0]),
        dict(row, condition_id="0xother"),
    ):
        assert resolution_from_data_api(CID, {"data": [bad]}, market, AT) is None
    assert resolution_from_data_api(CID, {"data": [row]}, None, AT) is None


# --- against the simulator ------------------------------------------------------------------


async def wait_until(check: Callable[[], bool], timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.1)


async def run_until_settled(sim: SimServer, tmp_path: Path) -> list[Any]:
    os.environ.update(sim.environment())
    s = apply_overrides(Settings(), sim.settings_overrides())
    s.storage.data_dir = tmp_path
    s.approval.policy = "auto"
    s.strategy.prior_edge, s.strategy.confidence_z = D("0.2"), D(0)  # copy unmeasured whales
    s.feeds.resolution_poll_s = 1.0
    engine = build_engine(LoadedConfig(s, None))
    task = asyncio.create_task(engine.run())
    try:
        await wait_until(lambda: engine.journal.count("settlement") >= 1, 120)
        await asyncio.sleep(2.5)  # two more resolver rounds: nothing is applied twice
    finally:
        await engine.stop()
        await asyncio.wait_for(task, 15)
    settlements = [e.payload for e in engine.journal.events(kinds=["settlement"])]
    engine.journal.close()
    by_condition = {m.condition_id: m for m in sim.scenario.markets}
    for settled in settlements:
        market = by_condition[settled["condition_id"]]
        assert sim.world.is_resolved(market)
        assert settled["winning_token_id"] == market.winner
    assert len({p["condition_id"] for p in settlements}) == len(settlements)
    return settlements


async def test_a_dropped_market_resolved_still_settles_from_rest(tmp_path: Path) -> None:
    async with SimServer("demo", seed=7, speed=80) as sim:
        sim.drop_market_resolved()
        settlements = await run_until_settled(sim, tmp_path)
    assert settlements[0]["source"] == "gamma"


async def test_the_websocket_and_the_resolver_settle_a_market_once(tmp_path: Path) -> None:
    async with SimServer("demo", seed=7, speed=80) as sim:
        settlements = await run_until_settled(sim, tmp_path)
    assert settlements[0]["source"] in ("ws", "gamma")
