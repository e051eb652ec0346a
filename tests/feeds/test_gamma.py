"""Gamma metadata against a real loopback HTTP server serving the shared sample."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any

import pytest
from aiohttp import web

from polytui.feeds.gamma import GammaError, MarketDirectory, market_from_gamma
from polytui.feeds.http import make_client
from polytui.model import FeedState
from tests.conftest import load_sample

RECORD = load_sample("gamma_market_sports_negrisk_fees.live_capture_trimmed.json")["market"]
YES = json.loads(RECORD["clobTokenIds"])[0]


def test_sample_record_parses_json_in_json_and_fees() -> None:
    market = market_from_gamma(RECORD)
    assert [o.name for o in market.outcomes] == ["Yes", "No"]
    assert market.outcomes[0].token_id == YES
    assert market.end_time == datetime(2026, 8, 8, 14, 0, tzinfo=UTC)
    assert market.neg_risk and market.tick_size == D("0.01") and market.min_order_size == D(5)
    assert market.fee_schedule is not None
    assert (market.fee_schedule.rate, market.fee_schedule.exponent) == (D("0.05"), 1)
    assert market.fee_schedule.fee_type == "sports_fees_v2"


def test_end_date_falls_back_to_end_of_day() -> None:
    record = dict(RECORD, endDate=None, endDateIso="2026-08-08")
    assert market_from_gamma(record).end_time == datetime(2026, 8, 8, 23, 59, 59, tzinfo=UTC)


def test_closed_market_names_its_winner() -> None:
    record = dict(RECORD, closed=True, outcomePrices='["0", "1"]')
    market = market_from_gamma(record)
    assert market.winning_token_id == market.outcomes[1].token_id


@pytest.mark.parametrize(
    "change",
    [
        {"outcomes": "nope"},
        {"clobTokenIds": '["1"]'},
        {"conditionId": None},
        {"orderPriceMinTickSize": "NaN"},
    ],
)
def test_bad_records_raise_a_clear_error(change: dict[str, Any]) -> None:
    with pytest.raises((GammaError, ValueError)):
        market_from_gamma(dict(RECORD, **change))


class Gamma:
    def __init__(self) -> None:
        self.requests: list[list[tuple[str, str]]] = []
        self.mode = "ok"
        self.failures_left = 0
        self.record: dict[str, Any] = RECORD

    async def markets(self, request: web.Request) -> web.Response:
        self.requests.append(list(request.query.items()))
        if self.failures_left > 0:
            self.failures_left -= 1
            if self.mode == "429":
                return web.Response(status=429, headers={"Retry-After": "0.05"})
            if self.mode == "500":
                return web.Response(status=500)
            if self.mode == "slow":
                await asyncio.sleep(1.0)
        await asyncio.sleep(0.05)
        tokens = request.query.getall("clob_token_ids", [])
        conditions = request.query.getall("condition_ids", [])
        # Like Gamma since 2026-04-09: closed markets only with closed=true.
        want_closed = request.query.get("closed", "false") == "true"
        record = self.record
        found = bool(set(tokens) & set(json.loads(record["clobTokenIds"]))) or (
            record["conditionId"] in conditions
        )
        return web.json_response([record] if found and record["closed"] == want_closed else [])


@pytest.fixture
async def gamma() -> AsyncIterator[tuple[Gamma, str]]:
    state = Gamma()
    app = web.Application()
    app.add_routes([web.get("/markets", state.markets)])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield state, f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_concurrent_lookups_collapse_into_one_request(gamma: tuple[Gamma, str]) -> None:
    state, url = gamma
    directory = MarketDirectory(make_client(2.0), url)
    results = await asyncio.gather(*(directory.get_by_token(YES) for _ in range(10)))
    assert len(state.requests) == 1
    assert state.requests[0] == [("clob_token_ids", YES), ("closed", "false")]
    assert all(r is not None and r.condition_id == RECORD["conditionId"] for r in results)
    assert directory.cached(YES) is results[0]
    await directory.stop()


async def test_429_with_retry_after_and_500_are_retried(gamma: tuple[Gamma, str]) -> None:
    state, url = gamma
    directory = MarketDirectory(make_client(2.0), url)
    state.mode, state.failures_left = "429", 1
    assert await directory.get_by_token(YES) is not None
    directory._by_token.clear()
    state.mode, state.failures_left = "500", 1
    assert await directory.get_by_token(YES) is not None
    assert len(state.requests) == 4
    await directory.stop()


async def test_persistent_errors_degrade_status_without_raising(gamma: tuple[Gamma, str]) -> None:
    state, url = gamma
    directory = MarketDirectory(make_client(0.3), url)
    state.mode, state.failures_left = "slow", 10
    assert await directory.get_by_token(YES) is None
    status = directory.status()
    assert status.state is FeedState.DEGRADED and "timed out" in status.detail
    await directory.stop()


async def test_a_closed_market_is_found_with_closed_true(gamma: tuple[Gamma, str]) -> None:
    state, url = gamma
    state.record = dict(RECORD, closed=True, outcomePrices='["0", "1"]')
    directory = MarketDirectory(make_client(2.0), url)
    market = await directory.get_by_token(YES)
    assert market is not None and market.closed and market.resolved
    assert [dict(q).get("closed") for q in state.requests] == ["false", "true"]
    by_condition = await directory.get_by_condition(RECORD["conditionId"], closed_first=True)
    assert by_condition is not None and by_condition.closed
    assert dict(state.requests[-1]).get("closed") == "true"
    await directory.stop()


async def test_a_refresh_replaces_the_open_record_when_the_market_closes(
    gamma: tuple[Gamma, str],
) -> None:
    state, url = gamma
    now = [0.0]
    directory = MarketDirectory(make_client(2.0), url, ttl_s=10, monotonic=lambda: now[0])
    first = await directory.get_by_token(YES)
    assert first is not None and not first.closed
    state.record = dict(RECORD, closed=True, outcomePrices='["1", "0"]')
    now[0] = 11.0
    later = await directory.get_by_token(YES)
    assert later is not None and later.closed and later.winning_token_id == YES
    assert directory.cached(YES) is later
    await directory.stop()


async def test_a_market_gone_from_gamma_is_not_kept_open(gamma: tuple[Gamma, str]) -> None:
    state, url = gamma
    now = [0.0]
    directory = MarketDirectory(make_client(2.0), url, ttl_s=10, monotonic=lambda: now[0])
    assert await directory.get_by_token(YES) is not None
    state.record = dict(RECORD, conditionId="0xother", clobTokenIds='["1", "2"]')
    now[0] = 11.0
    assert await directory.get_by_token(YES) is None
    assert directory.cached(YES) is None
    await directory.stop()


async def test_an_unreachable_gamma_keeps_the_last_record(gamma: tuple[Gamma, str]) -> None:
    state, url = gamma
    now = [0.0]
    directory = MarketDirectory(make_client(0.3), url, ttl_s=10, monotonic=lambda: now[0])
    assert await directory.get_by_token(YES) is not None
    state.mode, state.failures_left = "slow", 100
    now[0] = 11.0
    kept = await directory.get_by_token(YES)
    assert kept is not None and kept.condition_id == RECORD["conditionId"]
    await directory.stop()


def test_the_description_is_kept_as_the_market_rules_cleaned() -> None:
    rules = 'This market will resolve to "Yes" if\x1b[2J the team wins.\n\nOtherwise "No".'
    market = market_from_gamma({**RECORD, "description": rules})
    assert market is not None
    assert (
        market.description == 'This market will resolve to "Yes" if the team wins. Otherwise "No".'
    )
    assert market_from_gamma(RECORD).description == ""  # type: ignore[union-attr]
