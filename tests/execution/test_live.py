"""The live broker against the real simulator on loopback: order entry, lifecycle, reconciliation.

Nothing is monkeypatched: orders are signed by py-clob-client-v2, the simulator checks the L2
HMAC and recovers the EIP-712 signer, matches against its book and reports each trade on the
user channel (MATCHED → MINED → CONFIRMED, or RETRYING → FAILED).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from decimal import Decimal as D
from pathlib import Path

import pytest

from polytui.clock import SystemClock
from polytui.config import LoadedConfig
from polytui.execution.live import LiveBroker, LiveCredentials, order_amounts
from polytui.model import FeedState, OrderStatus, OrderType, Side
from polytui.sim.server import SimServer
from polytui.wiring import build_engine
from tests.execution.live_helpers import (
    ADDRESS,
    Harness,
    buy_from_funder,
    first_pending,
    live_env,
    live_settings,
    wait_until,
)


def test_amounts_match_the_official_builder() -> None:
    from py_clob_client_v2.order_builder.builder import ROUNDING_CONFIG, OrderBuilder

    builder = OrderBuilder(signer=None)  # type: ignore[arg-type]
    cases = [
        (Side.BUY, "10", "0.58", "0.01"),
        (Side.SELL, "12.5", "0.41", "0.01"),
        (Side.BUY, "7.25", "0.123", "0.001"),
        (Side.SELL, "100", "0.9", "0.1"),
    ]
    for side, shares, price, tick in cases:
        rc = ROUNDING_CONFIG[tick]
        _, maker, taker = builder.get_order_amounts(side.value, float(shares), float(price), rc)
        assert order_amounts(side, D(shares), D(price), D(tick), OrderType.GTC) == (maker, taker)
    # Marketable orders: the client rounds prices through binary floats (0.58 → 0.57 in its
    # round_down), so compare where floats are exact; the Decimal path has no such edge.
    for side, shares, price, tick in [
        (Side.BUY, "10", "0.5", "0.01"),
        (Side.BUY, "33", "0.25", "0.01"),
        (Side.SELL, "12.5", "0.75", "0.01"),
        (Side.BUY, "8", "0.125", "0.001"),
    ]:
        rc = ROUNDING_CONFIG[tick]
        amount = float(D(shares) * D(price)) if side is Side.BUY else float(shares)
        _, maker, taker = builder.get_market_order_amounts(side.value, amount, float(price), rc)
        assert order_amounts(side, D(shares), D(price), D(tick), OrderType.FAK) == (maker, taker)


async def test_engine_live_flow_approve_post_matched_confirmed_position(
    sim: SimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in live_env(sim).items():
        monkeypatch.setenv(name, value)
    engine = build_engine(LoadedConfig(live_settings(sim, tmp_path), None), live=True)
    sim.exchange.mined_after_s, sim.exchange.confirmed_after_s = 1.5, 3.0  # ~1 s in flight
    assert engine.mode == "live" and engine.broker.name == "live"
    sub = engine.subscribe(100_000)
    task = asyncio.create_task(engine.run())
    try:
        await wait_until(
            lambda: engine.broker._ready is not None and engine.broker._ready.is_set(), 10
        )
        # A first live run starts from the exchange's balance (the simulator's 1000 pUSD).
        assert engine.portfolio.starting_balance == D(1000)
        intent = await first_pending(sub)
        approved = time.perf_counter()
        result = await engine.command("approve", intent_id=intent.id)
        assert result.ok, result.message
        await wait_until(lambda: bool(engine.broker.timings), 5)
        # Matched, not yet confirmed: no position yet, but the money counts against the limits.
        assert engine.journal.count("fill") == 0 and not engine.portfolio.tokens()
        assert engine.portfolio_view().total_exposure_usd == intent.shares * intent.limit_price
        await wait_until(lambda: engine.journal.count("fill") >= 1, 20)
        await wait_until(lambda: not engine.desk.in_flight, 10)
        # The kill switch cancels what rests on the book (here an order placed elsewhere).
        stray = sim.exchange.seed_open_order(ADDRESS, intent.token_id, "BUY", D("0.05"), D(20))
        killed = await engine.command("kill")
        assert killed.ok and "1 open order(s) cancelled" in killed.message, killed.message
        assert sim.exchange.orders[stray].status == "CANCELED"
    finally:
        await engine.stop()
        await asyncio.wait_for(task, 15)
    statuses = [e.payload["status"] for e in engine.journal.events(kinds=["order"])]
    # Matched is not settled: the status history walks the whole lifecycle before the fill.
    for expected in ("new", "posted", "matched", "mined", "confirmed", "filled"):
        assert expected in statuses, "\n".join(
            str(
                (
                    e.kind,
                    e.payload.get("status"),
                    e.payload.get("reason"),
                    e.payload.get("event"),
                    e.ts[11:23],
                )
            )
            for e in engine.journal.events(kinds=["order", "clob"])
        )
    assert statuses.index("matched") < statuses.index("mined") < statuses.index("confirmed")
    fill = next(iter(engine.journal.events(kinds=["fill"]))).payload
    assert fill["broker"] == "live" and fill["token_id"] == intent.token_id
    held = engine.portfolio.shares(intent.token_id)
    assert held == D(fill["shares"]) > 0
    exchange = {r["asset"]: D(str(r["size"])) for r in sim.exchange.positions(ADDRESS)}
    assert exchange[intent.token_id] == held
    clob = [e.payload["event"] for e in engine.journal.events(kinds=["clob"])]
    assert clob[:2] == ["signed", "posted"]
    # Money parity: the portfolio's cash is the exchange's pUSD balance, fee included.
    assert engine.portfolio.cash == sim.exchange.account(ADDRESS).balance
    entered, sent, answered = engine.broker.timings[0]
    print(
        f"approve→POST sent {(sent - approved) * 1000:.1f} ms "
        f"(checks+signing {(sent - entered) * 1000:.1f} ms), "
        f"POST round trip {(answered - sent) * 1000:.1f} ms"
    )
    engine.journal.close()
    # A restart reconciles the journal with the exchange and finds nothing to report.
    again = build_engine(LoadedConfig(live_settings(sim, tmp_path), None), live=True)
    again.restore()
    report = await again.broker.start(again.portfolio_view().shares_by_token, again.journal)
    await again.broker.close()
    again.journal.close()
    assert report.ok and report.differences == [], report.differences


async def test_post_timeout_reconciles_and_never_sends_twice(
    sim: SimServer, tmp_path: Path
) -> None:
    async with Harness(sim, tmp_path, post_timeout_s=0.5) as h:
        await h.start()
        market, token, ask = await h.market()
        sim.exchange.delay_next_response(1.5)
        report = await h.buy(market, token, ask)
        # One order reached the exchange; the broker found it and followed it to a fill.
        assert len(h.sim_orders()) == 1
        assert report.fills and report.filled_shares == D(10), report.reason
        unknown = [o.reason for o in h.statuses if o.status is OrderStatus.UNKNOWN]
        assert len(unknown) == 1 and "reconciling" in unknown[0]
        assert h.statuses[-1].status is OrderStatus.FILLED
        found = [
            e.payload
            for e in h.journal.events(kinds=["clob"])
            if e.payload["event"] == "reconciled"
        ]
        assert found == [
            {
                "event": "reconciled",
                "clob_id": found[0]["clob_id"],
                "found": True,
                "status": "matched",
            }
        ]
        # Still one order after the held reply finally arrived.
        await asyncio.sleep(1.2)
        assert len(h.sim_orders()) == 1


async def test_failed_trade_leaves_the_position_unchanged(sim: SimServer, tmp_path: Path) -> None:
    async with Harness(sim, tmp_path) as h:
        await h.start()
        market, token, ask = await h.market()
        sim.exchange.fail_next_match()
        report = await h.buy(market, token, ask)
        assert report.fills == [] and "FAILED" in report.reason
        seen = [o.status for o in h.statuses]
        assert OrderStatus.MATCHED in seen and OrderStatus.RETRYING in seen
        assert seen[-1] is OrderStatus.FAILED and OrderStatus.CONFIRMED not in seen
        assert h.late == []
        assert sim.exchange.positions(ADDRESS) == []
        trades = [
            e.payload["status"]
            for e in h.journal.events(kinds=["clob"])
            if e.payload["event"] == "trade"
        ]
        assert trades == ["MATCHED", "RETRYING", "FAILED"]


async def test_startup_reconciliation_reports_seeded_differences(
    sim: SimServer, tmp_path: Path
) -> None:
    async with Harness(sim, tmp_path) as h:
        m0, m1 = sim.scenario.markets[0], sim.scenario.markets[1]
        stray = sim.exchange.seed_open_order(ADDRESS, m0.yes_token, "BUY", D("0.05"), D(20))
        sim.exchange.seed_position(ADDRESS, m1.yes_token, D(12), D("0.40"))
        report = await h.broker.start({m0.no_token: D(7)}, h.journal)
        assert report.ok, report.notices
        assert report.balance_usd == D(1000) and report.skew_s is not None
        text = "\n".join(report.differences)
        assert stray[:10] in text and "not in the journal" in text
        assert f"{m1.yes_token[:12]}…: exchange 12" in text and "journal 0" in text
        assert f"{m0.no_token[:12]}…: exchange 0, journal 7" in text
        assert len(report.differences) == 3
        recorded = [e.payload for e in h.journal.events(kinds=["reconcile"])]
        assert recorded[0]["differences"] == report.differences
        # The user channel is quiet until we trade; quiet is not a fault on the health pane.
        feed = h.broker.feed
        feed.last_data_at = feed.monotonic() - 1000
        assert feed.status().state is FeedState.LIVE and feed.status().connected
        # The kill switch cancels every open order, the stray one included.
        assert await h.broker.cancel_all() == 1
        assert sim.exchange.orders[stray].status == "CANCELED"


async def test_orders_are_refused_until_the_start_up_checks_pass(
    sim: SimServer, tmp_path: Path
) -> None:
    async with Harness(sim, tmp_path) as h:
        sim.exchange.set_balance(ADDRESS, 0)
        report = await h.start()
        assert not report.ok
        assert any(level == "error" and "no collateral" in msg for level, msg in report.notices)
        market, token, ask = await h.market()
        result = await h.broker.execute(
            h.order(token, Side.BUY, "10", ask), market, sized_price=ask, whale_price=ask
        )
        assert "checks failed" in result.reason
        assert h.sim_orders() == []


async def test_market_rules_are_checked_before_signing(sim: SimServer, tmp_path: Path) -> None:
    async with Harness(sim, tmp_path) as h:
        await h.start()
        market, token, ask = await h.market()
        # The share minimum is for orders that may rest (exits are GTC).
        small = await h.broker.execute(
            h.order(token, Side.SELL, "4.999", ask, intent=""),
            market,
            sized_price=ask,
            whale_price=ask,
        )
        assert "below the market minimum 5" in small.reason
        # A marketable buy spends whole cents: 3 shares at 0.333 sign for 0.99 pUSD.
        fine_tick = replace(market, tick_size=D("0.001"))
        rounded = await h.broker.execute(
            h.order(token, Side.BUY, "3", D("0.333")), fine_tick, sized_price=ask, whale_price=ask
        )
        assert "at least 1 pUSD" in rounded.reason
        # No liquidity at the limit: the simulator refuses the FAK; nothing rests.
        tiny = await h.broker.execute(
            h.order(token, Side.BUY, "10", D("0.05")), market, sized_price=ask, whale_price=ask
        )
        assert "at least 1 pUSD" in tiny.reason
        assert h.sim_orders() == []
        cheap = await h.broker.execute(
            h.order(token, Side.BUY, "200", D("0.011")), market, sized_price=ask, whale_price=ask
        )
        assert cheap.fills == [] and "refused" in cheap.reason, cheap.reason
        assert all(o.status != "LIVE" for o in h.sim_orders())


async def test_restart_reports_a_trade_that_confirmed_while_away(
    sim: SimServer, tmp_path: Path
) -> None:
    async with Harness(sim, tmp_path, confirm_timeout_s=0.05) as h:
        await h.start()
        market, token, ask = await h.market()
        report = await h.buy(market, token, ask)
        # Gone before the trade settled (the report says so; nothing is in the portfolio).
        assert report.fills == [] and "not final" in report.reason
        await h.broker.close()
        await asyncio.sleep(1.0)  # the simulator confirms meanwhile
        fresh = LiveBroker(
            h.settings, LiveCredentials.from_env(h.settings, live_env(sim)), SystemClock()
        )
        again = await fresh.start({}, h.journal)
        await fresh.close()
        text = "\n".join(again.differences)
        assert "when polytui stopped; the exchange says CONFIRMED" in text, text
        assert "its fill is not in the journal" in text
        assert f"{token[:12]}…: exchange 10, journal 0" in text


@pytest.mark.parametrize("signature_type", ["POLY_PROXY", "POLY_GNOSIS_SAFE"])
async def test_proxy_and_safe_wallets_trade_from_the_funder(
    sim: SimServer, tmp_path: Path, signature_type: str
) -> None:
    await buy_from_funder(sim, tmp_path, signature_type, "0x" + "5afe" * 10)


async def test_delayed_match_and_a_resting_gtc_exit(sim: SimServer, tmp_path: Path) -> None:
    async with Harness(sim, tmp_path, confirm_timeout_s=2.0) as h:
        await h.start()
        market, token, ask = await h.market()
        # "delayed": the CLOB accepts now and matches later; the broker waits for the trades.
        sim.exchange.delay_next_match(0.5)
        await h.bought(market, token, ask)
        assert any("delayed" in o.reason for o in h.statuses if o.status is OrderStatus.POSTED)
        # An exit (no intent) goes out as GTC; far above the book it rests, then is cancelled.
        result = await h.sell(market, token, ask)
        assert result.fills == [] and h.statuses[-1].order_type is OrderType.GTC
        assert any("remainder cancelled" in o.reason for o in h.statuses)
        resting = [o for o in h.sim_orders() if o.side == "SELL"]
        assert len(resting) == 1 and resting[0].status == "CANCELED"
        # The same exit again; this time the book comes to it and it fills as maker (no fee).
        again = asyncio.create_task(h.sell(market, token, ask))
        live = await h.resting_sell()
        live.price = D("0.01")  # as if the bids had come up to it
        await sim.exchange.tick()
        filled = await again
        assert filled.filled_shares == D(10), filled.reason
        assert [f.fee_usd for f in filled.fills] == [D(0)] and h.statuses[
            -1
        ].status is OrderStatus.FILLED


async def test_a_lost_post_the_exchange_never_saw_is_reported_not_resent(
    sim: SimServer, tmp_path: Path
) -> None:
    """A loopback proxy in front of the simulator swallows the POST: it never arrives."""
    import httpx
    from aiohttp import web

    swallowed: list[str] = []
    release = asyncio.Event()
    upstream = httpx.AsyncClient(base_url=f"http://{sim.host}:{sim.port}")

    async def relay(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if request.method == "POST" and request.path == "/clob/order":
            swallowed.append(request.path)
            await release.wait()  # no answer in time, and never forwarded
            return web.Response(status=504)
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        answer = await upstream.request(
            request.method, request.path_qs, content=body, headers=headers
        )
        return web.Response(
            body=answer.content, status=answer.status_code, content_type="application/json"
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", relay)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with Harness(sim, tmp_path, post_timeout_s=0.3) as h:
            h.broker.rest = f"http://127.0.0.1:{port}/clob"
            assert (await h.start()).ok
            market, token, ask = await h.market()
            report = await h.buy(market, token, ask)
            assert swallowed == ["/clob/order"] and h.sim_orders() == []
            assert report.fills == [] and "not resent" in report.reason
            assert [o.status for o in h.statuses] == [OrderStatus.UNKNOWN, OrderStatus.REJECTED]
            found = [e.payload for e in h.journal.events(kinds=["clob"])]
            assert [p["event"] for p in found] == ["signed", "reconciled"]
            assert found[1]["found"] is False
    finally:
        release.set()
        await upstream.aclose()
        await runner.cleanup()
