"""The simulator serves a world's past on the data-api's history endpoints, in the real shapes.

A small world with a few hours of settled history, served on loopback; the project's own
history adapter and plain HTTP read it. Counts and sums are checked against the world itself.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

import httpx
import pytest

from polytui.feeds.history import HistoryClient, Query
from polytui.feeds.http import make_client
from polytui.feeds.ratelimit import data_api_limiter
from polytui.sim.server import SimServer
from polytui.sim.worlds import World, parse_spec
from polytui.sim.worlds.past import build_world_with_past, history_truth

SPEC = {
    "name": "tiny-past",
    "hours": 1,
    "history_hours": 6,
    "markets": [
        {
            "name": "fast",
            "count": 3,
            "duration_s": [600, 1200],
            "fee": "crypto_fees_v2",
            "depth": 800,
            "frontrun": 0.5,
            "large_usd": 500,
            "tape_s": 1.5,
            "category": "crypto",
        },
        {"name": "slow", "count": 1, "duration_s": [7200, 9000], "fee": "none", "rolling": True},
    ],
    "whales": [
        {"archetype": "informed_slow", "alias": "slow", "every_s": 120, "accuracy": 0.75},
        {"archetype": "noise", "count": 2, "alias": "noise", "every_s": 120},
        {"archetype": "longshot", "alias": "long", "every_s": 120, "max_price": 0.2},
    ],
}
V2_TRADE = {
    "proxy_wallet", "token_id", "condition_id", "side", "size", "price", "timestamp",
    "transaction_hash", "title", "slug", "icon", "event_slug", "outcome", "outcome_index",
    "name", "pseudonym", "bio", "profile_image", "profile_image_optimized",
}  # fmt: skip
V1_TRADE = {
    "proxyWallet", "side", "asset", "conditionId", "size", "price", "timestamp", "title", "slug",
    "icon", "eventSlug", "outcome", "outcomeIndex", "name", "pseudonym", "bio", "profileImage",
    "profileImageOptimized", "transactionHash",
}  # fmt: skip
V2_POSITION = {
    "proxy_wallet", "token_id", "condition_id", "current_size", "avg_price", "entry_cost_usdc",
    "entry_fees_usdc", "total_cost_usdc", "current_price", "current_value", "total_size",
    "realized_pnl", "unrealized_pnl", "total_pnl", "percent_pnl", "percent_realized_pnl",
    "status", "redeemable", "mergeable", "negative_risk", "archived", "verified", "title",
    "slug", "icon", "event_slug", "outcome", "opposite_outcome", "name", "profile_image",
    "event_id", "outcome_index", "opposite_token_id", "end_date", "last_event_at",
}  # fmt: skip
V1_CLOSED = {
    "proxyWallet", "asset", "conditionId", "avgPrice", "totalBought", "realizedPnl", "curPrice",
    "timestamp", "title", "slug", "icon", "eventSlug", "outcome", "outcomeIndex",
    "oppositeOutcome", "oppositeAsset", "endDate",
}  # fmt: skip


@pytest.fixture(scope="module")
def world() -> World:
    return build_world_with_past(parse_spec(SPEC), seed=3)


def _past(world: World, wallet: str) -> list[Any]:
    return [tr for tr in world.trades if tr.wallet == wallet and tr.t < 0]


async def _get(client: httpx.AsyncClient, url: str, **params: Any) -> httpx.Response:
    return await client.get(url, params=params)


async def test_a_wallets_past_pages_through_v2_and_v1_in_the_documented_shapes(
    world: World,
) -> None:
    slow = next(w for w in world.wallets if w.archetype == "informed_slow").wallet
    past = _past(world, slow)
    assert len(past) > 30
    async with SimServer(world=world) as sim, httpx.AsyncClient() as client:
        base = sim.urls["data_api_url"]
        first = (await _get(client, f"{base}/v2/trades", user=slow, limit=10)).json()
        assert set(first["data"][0]) == V2_TRADE
        assert first["pagination"]["has_more"] is True
        cursor = first["pagination"]["next_cursor"]
        # a bare cursor, or one under another anchor, is refused
        bare = await _get(client, f"{base}/v2/trades", cursor=cursor)
        assert bare.status_code == 400
        other = await _get(client, f"{base}/v2/trades", cursor=cursor, user="0x" + "1" * 40)
        assert other.status_code == 400
        rows = list(first["data"])
        while cursor:
            page = (await _get(client, f"{base}/v2/trades", user=slow, cursor=cursor)).json()
            rows += page["data"]
            cursor = page["pagination"]["next_cursor"]
        assert len(rows) == len(past)
        assert {r["transaction_hash"] for r in rows} == {tr.tx_hash for tr in past}
        stamps = [r["timestamp"] for r in rows]
        assert stamps == sorted(stamps, reverse=True)  # newest first
        v1 = (await _get(client, f"{base}/trades", user=slow, limit=500)).json()
        assert set(v1[0]) == V1_TRADE and len(v1) == len(past)
        assert (await _get(client, f"{base}/trades", user=slow, offset=10_001)).status_code == 400
        assert (await _get(client, f"{base}/activity", user=slow, limit=501)).status_code == 400
        assert (
            await _get(client, f"{base}/closed-positions", user=slow, limit=51)
        ).status_code == 400


async def test_the_adapter_reads_activity_closed_positions_and_settlements_that_add_up(
    world: World,
) -> None:
    truth = history_truth(world)
    async with SimServer(world=world) as sim:
        history = HistoryClient(make_client(10.0), sim.urls["data_api_url"], backoff_s=0.01)
        try:
            for w in world.wallets:
                past = _past(world, w.wallet)
                activity = await history.collect("activity", Query(user=w.wallet, start_s=1))
                trades = [t for p in activity for t in p.trades]
                redeems = [e for p in activity for e in p.events if e.kind == "REDEEM"]
                assert len(trades) == len(past)
                markets = {tr.market for tr in past}
                assert len(redeems) == len(markets)  # every past market was redeemed
                closed = [
                    c
                    for p in await history.collect("closed", Query(user=w.wallet))
                    for c in p.closed
                ]
                assert len(closed) == truth[w.wallet]["positions"]
                assert sum((c.realized_pnl_usd for c in closed), Decimal(0)) == Decimal(
                    truth[w.wallet]["realized_pnl_usd"]
                )
                # the v1 twin: 50 a page by offset, the same positions
                history.generation["closed"] = "v1"
                v1 = [
                    c
                    for p in await history.collect("closed", Query(user=w.wallet))
                    for c in p.closed
                ]
                history.generation.clear()
                assert sorted(c.token_id for c in v1) == sorted(c.token_id for c in closed)
            cids = {
                world.markets[tr.market].condition_id: world.markets[tr.market]
                for tr in world.trades
                if tr.t < 0
            }
            found = await history.resolutions(cids)
            assert len(found) == len(cids)
            for cid, resolution in found.items():
                winner = 0 if cids[cid].yes_wins else 1
                assert resolution.payout(winner) == 1
            assert history.stats.bad_rows == 0
            # the P&L curve ends at the realized P&L of the past (nothing present has closed)
            async with httpx.AsyncClient() as raw:
                for w in world.wallets:
                    url = f"{sim.urls['data_api_url']}/v2/user-pnl"
                    body = (await raw.get(url, params={"user": w.wallet, "fidelity": "1h"})).json()
                    points = body["data"]["points"]
                    counts = [p["trade_count"] for p in points]
                    assert len(points) >= 6 and counts == sorted(counts)
                    last = points[-1]
                    expected = Decimal(truth[w.wallet]["realized_pnl_usd"])
                    assert Decimal(str(last["realized_pnl"])) == expected
        finally:
            await history.client.aclose()


async def test_a_markets_tape_prints_the_book_the_worlds_fills_left(world: World) -> None:
    big = max((tr for tr in world.trades if tr.t < 0), key=lambda tr: tr.levels)
    market = world.markets[big.market]
    async with SimServer(world=world) as sim, httpx.AsyncClient() as client:
        base = sim.urls["data_api_url"]
        start = int(sim.wall(big.t))
        body = (
            await _get(client, f"{base}/v2/trades", condition_id=market.condition_id,
                       start=start, end=start + 60, taker_only="true", limit=1000)
        ).json()  # fmt: skip
        rows = body["data"]
        assert any(r["transaction_hash"] == big.tx_hash for r in rows)
        retail = [r for r in rows if r["transaction_hash"] != big.tx_hash]
        assert len(retail) > 20
        assert {r["side"] for r in retail} == {"BUY", "SELL"}
        assert all(start <= r["timestamp"] <= start + 60 for r in rows)
        # a retail buy of the whale's token right after it pays the impacted best ask
        after = [r for r in retail if r["token_id"] == big.token_id and r["side"] == "BUY"]
        assert after
        first = min(after, key=lambda r: r["timestamp"])
        t = (first["timestamp"] - sim.world.wall0) * sim.speed
        asks = [world.markets[big.market].best_ask(big.token_id, t + dt) for dt in (0.0, 0.99)]
        assert min(asks) - 0.01 <= float(first["price"]) <= max(asks) + 0.01
        assert float(first["price"]) > world.price(big.token_id, big.t - 1)


async def test_leaderboards_winners_holders_and_the_pnl_curve(world: World) -> None:
    truth = history_truth(world)
    async with SimServer(world=world, speed=400) as sim, httpx.AsyncClient() as client:
        base = sim.urls["data_api_url"]
        v1 = (await _get(client, f"{base}/v1/leaderboard", timePeriod="ALL", limit=50)).json()
        assert {r["proxyWallet"] for r in v1} == {w.wallet for w in world.wallets}
        assert [Decimal(str(r["pnl"])) for r in v1] == sorted(
            (Decimal(str(r["pnl"])) for r in v1), reverse=True
        )
        by_wallet = {r["proxyWallet"]: Decimal(str(r["pnl"])) for r in v1}
        for wallet, entry in truth.items():
            assert by_wallet[wallet] == Decimal(entry["realized_pnl_usd"])
        v2 = (await _get(client, f"{base}/v2/leaderboard", time_period="all")).json()
        assert v2["data"][0]["user_id"] == v1[0]["proxyWallet"] and v2["data"][0]["rank"] == 1
        winners = (await _get(client, f"{base}/v2/biggest-winners", time_period="all")).json()
        assert winners["data"] and all(Decimal(str(r["pnl"])) > 0 for r in winners["data"])
        # holders: wait for a present fill to be indexed (sim time runs 400× here)
        present = next(tr for tr in world.trades if tr.t > 0)
        deadline = time.monotonic() + 20
        while sim.now() < present.t + 6 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        cid = world.markets[present.market].condition_id
        holders = (await _get(client, f"{base}/v2/holders", condition=cid)).json()["data"]
        held = {h["proxy_wallet"] for g in holders for h in g["holders"]}
        assert present.wallet in held


async def test_requests_stay_within_the_published_limits_and_faults_are_retried(
    world: World,
) -> None:
    async with SimServer(world=world) as sim:
        assert sim.history is not None
        throttle = sim.history.throttle
        throttle.window_s = 1.0  # the published counts, per second instead of per ten
        limiter = data_api_limiter(60, 20, 15)
        limiter.window_s = 1.0
        for window in [limiter.overall, *(w for _, w in limiter.rules)]:
            window.window_s = 1.0
        history = HistoryClient(
            make_client(10.0), sim.urls["data_api_url"], limiter=limiter, backoff_s=0.01
        )
        try:
            tapes = [
                Query(condition=world.markets[tr.market].condition_id, start_s=int(sim.wall(tr.t)),
                      end_s=int(sim.wall(tr.t)) + 30)
                for tr in world.trades[:120]
            ]  # fmt: skip
            started = time.monotonic()
            await asyncio.gather(
                *(history.collect("closed", Query(user=w.wallet)) for w in world.wallets),
                *(history.collect("trades", q) for q in tapes),
            )
            assert time.monotonic() - started >= 4.0  # 120 tape pages at 20 a second
            assert throttle.delayed == 0  # a polite client never has to be held back
            assert throttle.max_in_window(("/trades", "/v2/trades")) <= 20
            assert throttle.max_in_window() <= 60
            async with httpx.AsyncClient() as raw:
                url = f"{sim.urls['data_api_url']}/v2/positions"
                throttle.limits["positions"] = (throttle.limits["positions"][0], 3)
                await asyncio.sleep(1.1)  # the window of the polite requests above has passed
                throttle.served.clear()
                started = time.monotonic()
                answers = await asyncio.gather(
                    *(raw.get(url, params={"user": world.wallets[0].wallet}) for _ in range(7))
                )
                assert all(a.status_code == 200 for a in answers)  # delayed, never rejected
                assert time.monotonic() - started >= 1.5
                assert throttle.delayed >= 4
                assert throttle.max_in_window(("/v2/positions",), served=True) <= 3
                knob = await raw.post(
                    f"http://127.0.0.1:{sim.port}/sim/data/fail", json={"statuses": [429, 503]}
                )
                assert knob.status_code == 200
            before = history.stats.retries
            pages = await history.collect("trades", Query(user=world.wallets[1].wallet))
            assert pages and history.stats.retries == before + 2
        finally:
            await history.client.aclose()


def test_a_past_leaves_the_present_as_it_was_and_is_settled(world: World) -> None:
    from polytui.sim.worlds import build_world

    present = build_world(parse_spec(SPEC), seed=3)
    assert [tr for tr in world.trades if tr.t >= 0] == present.trades
    assert [m.condition_id for m in world.markets[: len(present.markets)]] == [
        m.condition_id for m in present.markets
    ]
    past_markets = world.markets[len(present.markets) :]
    assert past_markets and all(m.end_s <= 0 for m in past_markets)
    assert all(world.markets[i].index == i for i in range(len(world.markets)))
    past = [tr for tr in world.trades if tr.t < 0]
    assert past and all(world.markets[tr.market].end_s <= 0 for tr in past)
    assert all(tr.t < world.markets[tr.market].end_s for tr in past)


async def test_a_markets_whole_tape_pages_the_same_by_v2_cursor_and_by_v1_offset(
    world: World,
) -> None:
    market = next(m for m in world.markets if m.end_s <= 0 and m.group.name == "fast")
    async with SimServer(world=world) as sim, httpx.AsyncClient() as client:
        base = sim.urls["data_api_url"]
        v2: list[dict[str, Any]] = []
        params: dict[str, Any] = {"condition_id": market.condition_id, "limit": 250}
        while True:
            page = (await client.get(f"{base}/v2/trades", params=params)).json()
            v2 += page["data"]
            cursor = page["pagination"]["next_cursor"]
            if not cursor:
                break
            params = {"condition_id": market.condition_id, "cursor": cursor}
        v1: list[dict[str, Any]] = []
        offset = 0
        while True:
            rows = (
                await _get(client, f"{base}/trades", market=market.condition_id, limit=300,
                           offset=offset)
            ).json()  # fmt: skip
            v1 += rows
            offset += len(rows)
            if len(rows) < 300:
                break
    life = market.end_s - market.start_s
    assert len(v2) > 2 * life / market.group.tape_s * 0.8  # two tokens' prints, and the fills
    assert [r["transaction_hash"] for r in v2] == [r["transactionHash"] for r in v1]
    assert len({r["transaction_hash"] for r in v2}) == len(v2)
    own = {tr.tx_hash for tr in world.trades if tr.market == market.index}
    assert own <= {r["transaction_hash"] for r in v2}
