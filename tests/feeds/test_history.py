"""The data-api history adapter against a real loopback server: v2 first, v1 behind it."""

from __future__ import annotations

import asyncio
import copy
import time
from decimal import Decimal as D
from typing import Any

import pytest

from polytui.feeds.history import CursorState, HistoryClient, HistoryError, Query
from polytui.feeds.history_rows import activity_from_row, trade_from_history_row
from polytui.feeds.http import make_client
from polytui.feeds.ratelimit import PathRule, RateLimiter, data_api_limiter
from polytui.model import Side
from polytui.model.history import ActivityEvent
from tests.conftest import load_sample
from tests.feeds.history_server import HistoryWorld, serve_history, to_v2

SAMPLE = load_sample("data_api_trades.live_capture.json")
REAL_ROWS: list[dict[str, Any]] = SAMPLE["trades_by_market"]
TRIMMED: dict[str, Any] = SAMPLE["trade_trimmed"]
WHALE = "0x204f72f35326db932158cba6adff0b9a1da95e14"
CONDITION = REAL_ROWS[0]["conditionId"]

REDEEM_ROW = {  # the documented activity sentinels: price 0, empty asset, outcomeIndex 999
    "proxyWallet": WHALE,
    "timestamp": 1785400000,
    "conditionId": CONDITION,
    "type": "REDEEM",
    "size": 12.5,
    "usdcSize": 12.5,
    "transactionHash": "0xabc",
    "price": 0,
    "asset": "",
    "side": "",
    "outcomeIndex": 999,
    "title": "",
    "slug": "",
    "icon": "",
    "eventSlug": "",
    "outcome": "",
    "name": "",
    "pseudonym": "",
    "bio": "",
    "profileImage": "",
    "profileImageOptimized": "",
}


def whale_trades(
    n: int, *, start: int = 1_780_000_000, maker_every: int = 0
) -> list[dict[str, Any]]:
    """``n`` fills of WHALE in the real row shape, one a minute, newest last."""
    rows = []
    for i in range(n):
        row = copy.deepcopy(TRIMMED)
        row.update(
            timestamp=start + 60 * i,
            transactionHash=f"0x{i:064x}",
            size=round(1 + (i % 7) * 1.5, 6),
            price=round(0.05 + (i % 90) / 100, 4),
            outcomeIndex=i % 2,
        )
        if maker_every and i % maker_every == 0:
            row["_role"] = "maker"
        rows.append(row)
    return rows


def client_for(url: str, **kwargs: Any) -> HistoryClient:
    kwargs.setdefault("backoff_s", 0.01)
    return HistoryClient(make_client(5.0), url, **kwargs)


# --- parsing the real shapes ----------------------------------------------------------------------


def test_real_captured_trade_rows_parse_in_both_generations() -> None:
    for row in [*REAL_ROWS, TRIMMED]:
        v1 = trade_from_history_row(row)
        v2 = trade_from_history_row(to_v2(row))
        assert v1 == v2
    first = trade_from_history_row(REAL_ROWS[0])
    assert first.side is Side.BUY and first.price == D("0.765") and first.shares == D(15)
    assert first.ts_ms == 1783008527000 and first.outcome_index == 0
    assert trade_from_history_row(TRIMMED).price == D("0.8699999676")  # float text kept exact


def test_redeem_activity_row_is_an_event_not_a_trade() -> None:
    item = activity_from_row(REDEEM_ROW)
    assert isinstance(item, ActivityEvent)
    assert item.kind == "REDEEM" and item.usdc_size == D("12.5")
    trade_row = dict(REAL_ROWS[0], type="TRADE")
    assert not isinstance(activity_from_row(trade_row), ActivityEvent)


def test_published_limits_are_the_defaults() -> None:
    limiter = data_api_limiter()
    assert limiter.overall.limit == 1000 and limiter.window_s == 10.0
    limits = {rule.paths: w.limit for rule, w in limiter.rules}
    assert limits[("/positions", "/closed-positions", "/v2/positions")] == 150
    assert limits[("/trades", "/v2/trades")] == 200


# --- paging -------------------------------------------------------------------------------------


async def test_v2_pages_follow_the_cursor_and_resend_anchor_and_filters() -> None:
    world = HistoryWorld(trades=whale_trades(2_345))
    async with serve_history(world) as server:
        client = client_for(server.url)
        pages = await client.collect("trades", Query(user=WHALE, taker_only=False, start_s=1))
        assert [len(p.trades) for p in pages] == [1000, 1000, 345]
        assert pages[-1].state.done and pages[-1].state.generation == "v2"
        keys = {t.key for p in pages for t in p.trades}
        assert len(keys) == 2_345
        follow_ups = [q for _, path, q in server.requests if "cursor" in q]
        assert len(follow_ups) == 2
        assert all(q["user"] == WHALE and q["start"] == "1" for q in follow_ups)
        assert all("_" in q for _, _, q in server.requests)  # the CDN cache is defeated
        await client.client.aclose()


@pytest.mark.parametrize("trouble", ["404", "unknown shape"])
async def test_v2_trouble_falls_back_to_v1_offsets(trouble: str) -> None:
    world = HistoryWorld(trades=whale_trades(1_234))
    async with serve_history(world) as server:
        if trouble == "404":
            server.v2_enabled = False
        else:
            server.v2_shape = "unknown"
        client = client_for(server.url)
        pages = await client.collect("trades", Query(user=WHALE, taker_only=False))
        assert sum(len(p.trades) for p in pages) == 1_234
        assert pages[-1].state.generation == "v1"
        assert client.stats.fallbacks == 1
        offsets = [q["offset"] for _, path, q in server.requests if path == "/trades"]
        assert offsets == ["0", "500", "1000"]
        # the choice sticks: a second stream goes to v1 at once
        before = server.count("/v2/trades")
        await client.collect("trades", Query(user=WHALE))
        assert server.count("/v2/trades") == before
        await client.client.aclose()


async def test_bad_rows_are_counted_and_dropped_never_fatal() -> None:
    world = HistoryWorld(trades=whale_trades(30))
    async with serve_history(world) as server:
        server.garbage_rows = [
            "not an object",
            {"proxyWallet": "nope"},
            dict(TRIMMED, price="NaN"),
            dict(TRIMMED, size=-3),
            dict(TRIMMED, side="HOLD"),
            dict(TRIMMED, timestamp=None),
        ]
        client = client_for(server.url)
        pages = await client.collect("trades", Query(user=WHALE))
        assert sum(len(p.trades) for p in pages) == 30
        assert sum(p.bad for p in pages) == 6 == client.stats.bad_rows
        await client.client.aclose()


async def test_redeem_rows_in_activity_are_events_not_trades() -> None:
    rows = [dict(r, type="TRADE") for r in whale_trades(5)] + [REDEEM_ROW]
    async with serve_history(HistoryWorld(activity=rows)) as server:
        for v2 in (True, False):
            server.v2_enabled = v2
            client = client_for(server.url)
            pages = await client.collect("activity", Query(user=WHALE))
            trades = [t for p in pages for t in p.trades]
            events = [e for p in pages for e in p.events]
            assert len(trades) == 5 and [e.kind for e in events] == ["REDEEM"]
            assert client.stats.bad_rows == 0
            await client.client.aclose()


async def test_an_interrupted_fetch_resumes_from_its_cursor() -> None:
    world = HistoryWorld(trades=whale_trades(2_500))
    async with serve_history(world) as server:
        for v2 in (True, False):
            server.v2_enabled = v2
            client = client_for(server.url)
            seen: list[str] = []
            saved: CursorState | None = None
            async for page in client.pages("trades", Query(user=WHALE, taker_only=False)):
                seen += [t.key for t in page.trades]
                saved = page.state
                break  # interrupted after the first page
            assert saved is not None and not saved.done
            restored = CursorState.from_record(saved.to_record())
            resumed = client_for(server.url)
            async for page in resumed.pages(
                "trades", Query(user=WHALE, taker_only=False), restored
            ):
                seen += [t.key for t in page.trades]
            assert len(seen) == len(set(seen)) == 2_500
            await client.client.aclose()
            await resumed.client.aclose()


async def test_v1_offset_cap_marks_the_history_truncated() -> None:
    world = HistoryWorld(trades=whale_trades(10_600))
    async with serve_history(world) as server:
        server.v2_enabled = False
        client = client_for(server.url)
        pages = await client.collect("trades", Query(user=WHALE, taker_only=False))
        assert sum(len(p.trades) for p in pages) == 10_000
        assert pages[-1].state.truncated
        await client.client.aclose()


# --- retries and limits -------------------------------------------------------------------------


async def test_429_and_5xx_are_retried_with_backoff() -> None:
    world = HistoryWorld(trades=whale_trades(10))
    async with serve_history(world) as server:
        server.fail_next = [429, 500, 503]
        client = client_for(server.url)
        pages = await client.collect("trades", Query(user=WHALE))
        assert sum(len(p.trades) for p in pages) == 10
        assert client.stats.retries == 3 and server.count("/v2/trades") == 4
        server.fail_next = [500] * 10
        with pytest.raises(HistoryError, match="server error 500"):
            await client.collect("trades", Query(user=WHALE))
        await client.client.aclose()


async def test_requests_stay_within_the_windows_counted_at_the_server() -> None:
    """The published limits scaled down (20 per 1 s overall, 6 per 1 s positions) so the
    test is short; the arithmetic is the same as 1,000 / 150 per 10 s."""
    world = HistoryWorld(trades=whale_trades(3))
    async with serve_history(world) as server:
        limiter = RateLimiter(
            20, [PathRule(("/closed-positions", "/v2/positions"), 6)], window_s=1.0
        )
        client = client_for(server.url, limiter=limiter)
        started = time.monotonic()
        jobs = [client.collect("trades", Query(user=WHALE)) for _ in range(30)]
        jobs += [client.collect("closed", Query(user=WHALE)) for _ in range(14)]
        await asyncio.gather(*jobs)
        elapsed = time.monotonic() - started
        assert server.count() == 44
        assert server.max_in_window(1.0) <= 20
        assert server.max_in_window(1.0, ("/v2/positions",)) <= 6
        assert elapsed >= 2.0  # 14 position requests at 6 a second need three windows
        await client.client.aclose()


# --- single answers -------------------------------------------------------------------------------


async def test_resolutions_leaderboard_holders_and_pnl() -> None:
    other = "0x" + "ab" * 20
    world = HistoryWorld(
        resolutions=[
            {
                "condition_id": CONDITION,
                "status": "resolved",
                "payouts": [1000000, 0],
                "resolved_at": 1783100000,
            },
            {
                "condition_id": "0x" + "11" * 32,
                "status": "resolved",
                "payouts": ["500000", "500000"],
            },
            {"condition_id": "0x" + "22" * 32, "status": "proposed", "payouts": None},
        ],
        leaderboard=[
            {
                "rank": "1",
                "proxyWallet": WHALE,
                "userName": "swisstony",
                "xUsername": "",
                "verifiedBadge": False,
                "vol": 1803373946.66,
                "pnl": 23373702.17,
                "profileImage": "",
            },
            {"rank": "2", "proxyWallet": other, "userName": "", "vol": 1, "pnl": 2},
        ],
        holders={
            CONDITION: [
                {
                    "token": "1",
                    "holders": [
                        {"proxyWallet": other, "amount": 5, "outcomeIndex": 0, "name": "x"}
                    ],
                }
            ]
        },
        pnl={
            WHALE: [
                {"timestamp": 1783000000, "economic_pnl": 12.5},
                {"timestamp": 1783086400, "realized_pnl": "13.25"},
            ]
        },
    )
    async with serve_history(world) as server:
        client = client_for(server.url)
        found = await client.resolutions([CONDITION, "0x" + "11" * 32, "0x" + "22" * 32])
        assert found[CONDITION].payouts == (D(1), D(0))
        assert found[CONDITION].resolved_at_ms == 1783100000000
        assert found["0x" + "11" * 32].void and "0x" + "22" * 32 not in found
        for v2 in (True, False):
            server.v2_enabled = v2
            fresh = client_for(server.url)
            leaders = await fresh.leaderboard("week", "overall", 10)
            assert [e.wallet for e in leaders] == [WHALE, other]
            assert leaders[0].pnl_usd == D("23373702.17") and leaders[0].rank == 1
            holders = await fresh.holders(CONDITION)
            assert [h.wallet for h in holders] == [other]
            await fresh.client.aclose()
        server.v2_enabled = True
        curve = await client.user_pnl(WHALE)
        assert [p.pnl_usd for p in curve] == [D("12.5"), D("13.25")]
        await client.client.aclose()
