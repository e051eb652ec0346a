"""The account side of live trading against the simulator speaking the real CLOB's dialect.

The CLOB's cached allowances (stale until ``/balance-allowance/update``), deposit wallets
(POLY_1271 signatures, maker = signer = the wallet) and Protocol-V2 markets refused before
signing.
"""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

from polytui.model import OrderStatus, Side
from polytui.sim.server import SimServer
from tests.execution.live_helpers import ADDRESS, Harness, buy_from_funder


async def test_a_stale_collateral_allowance_is_refreshed_at_start_up(
    sim: SimServer, tmp_path: Path
) -> None:
    sim.exchange.stale_allowance(ADDRESS)  # approved on chain after the CLOB cached the wallet
    async with Harness(sim, tmp_path) as h:
        report = await h.start()
        assert report.ok, report.notices
        assert report.allowances and min(report.allowances.values()) > D(10) ** 9


async def test_sells_refresh_the_token_allowance_first_and_an_exit_retries_once(
    sim: SimServer, tmp_path: Path
) -> None:
    async with Harness(sim, tmp_path) as h:
        assert (await h.start()).ok
        market, token, ask = await h.market()
        book = sim.rest_book(token)
        assert book is not None
        bid = D(book["bids"][-1]["price"])

        async def round_trip() -> object:
            entry = await h.buy(market, token, ask, over=D("0.03"))
            assert entry.filled_shares == D(10), entry.reason
            return await h.broker.execute(
                h.order(token, Side.SELL, "10", bid - D("0.05"), intent=""),
                market,
                sized_price=bid,
                whale_price=bid,
            )

        # The CLOB has never been asked about this token: without a refresh it refuses.
        first = await round_trip()
        assert first.filled_shares == D(10), first.reason  # type: ignore[attr-defined]
        sells = [o for o in h.sim_orders() if o.side == "SELL"]
        assert len(sells) == 1
        # The CLOB's cache goes stale again: the exit is refused, refreshed and sent once more.
        sim.exchange.stale_allowance(ADDRESS, token)
        second = await round_trip()
        assert second.filled_shares == D(10), second.reason  # type: ignore[attr-defined]
        sells = [o for o in h.sim_orders() if o.side == "SELL"]
        assert len(sells) == 2  # the refused one never existed on the exchange
        again = [o for o in h.statuses if o.status is OrderStatus.NEW]
        assert len(again) == 1 and "allowance refreshed" in again[0].reason
        assert h.statuses[-1].status is OrderStatus.FILLED


async def test_an_entry_refused_for_allowance_is_not_sent_again(
    sim: SimServer, tmp_path: Path
) -> None:
    async with Harness(sim, tmp_path) as h:
        assert (await h.start()).ok
        market, token, ask = await h.market()
        sim.exchange.stale_allowance(ADDRESS)
        entry = await h.buy(market, token, ask, over=D("0.03"))
        assert "not enough balance / allowance" in entry.reason
        assert h.sim_orders() == [] and not any(o.status is OrderStatus.NEW for o in h.statuses)


DEPOSIT_WALLET = "0x" + "de9051" * 6 + "d0e1"


async def test_a_deposit_wallet_signs_as_poly_1271_and_trades_from_the_wallet(
    sim: SimServer, tmp_path: Path
) -> None:
    # The wallet's owner is the key's EOA.
    await buy_from_funder(sim, tmp_path, "POLY_1271", DEPOSIT_WALLET)
    (placed,) = sim.exchange.orders.values()
    assert placed.maker == DEPOSIT_WALLET.lower()  # maker = signer = the deposit wallet


async def test_a_deposit_wallet_owned_by_another_key_is_refused(
    sim: SimServer, tmp_path: Path
) -> None:
    sim.exchange.link_wallet("0x" + "77" * 20, DEPOSIT_WALLET)  # someone else's wallet
    async with Harness(sim, tmp_path, signature_type="POLY_1271", funder=DEPOSIT_WALLET) as h:
        await h.start()
        market, token, ask = await h.market()
        h.broker._blocked = None  # past the balance check: the exchange itself must refuse
        result = await h.buy(market, token, ask)
        assert "invalid signature" in result.reason and not sim.exchange.orders


def test_the_official_builder_reproduces_the_published_poly_1271_vector() -> None:
    """What the broker delegates to: py-clob-client-v2's wrapping, checked against the vector,
    and the simulator's recovery of the owner from it."""
    from py_clob_client_v2.order_utils import ExchangeOrderBuilderV2, SignatureTypeV2
    from py_clob_client_v2.order_utils.model.order_data_v2 import OrderDataV2
    from py_clob_client_v2.order_utils.model.side import Side as ClobSide
    from py_clob_client_v2.signer import Signer

    from polytui.sim.signing import OrderV2, recover_poly1271
    from tests.conftest import load_sample

    vectors = load_sample("test_vectors.official.json")
    v = vectors["order_v2_poly1271_amoy"]
    m = v["message"]
    builder = ExchangeOrderBuilderV2(
        v["domain"]["verifyingContract"],
        80002,
        Signer(vectors["private_key"], 80002),
        generate_salt=lambda: m["salt"],
    )
    signed = builder.build_signed_order(
        OrderDataV2(
            maker=m["maker"],
            signer=m["signer"],
            tokenId=str(m["tokenId"]),
            makerAmount=str(m["makerAmount"]),
            takerAmount=str(m["takerAmount"]),
            side=ClobSide.BUY,
            signatureType=SignatureTypeV2.POLY_1271,
            timestamp=str(m["timestamp"]),
        )
    )
    expected = next(value for key, value in v.items() if key.startswith("expected_signature"))
    assert signed.signature == expected
    wire = {**m, "side": "BUY", "signatureType": 3}
    owner = recover_poly1271(OrderV2.from_wire(wire), expected, v["domain"], 80002)
    assert owner.lower() == vectors["address"].lower()


async def test_a_protocol_v2_market_is_refused_before_signing(
    sim: SimServer, tmp_path: Path
) -> None:
    from dataclasses import replace

    from polytui.feeds.gamma import market_from_gamma
    from tests.conftest import load_sample

    record = load_sample("gamma_market_sports_negrisk_fees.live_capture_trimmed.json")["market"]
    assert market_from_gamma(record).version == "v1"
    v2 = {**record, "version": "v2", "positionIds": ["11", "22"]}  # V2 ids: positionIds
    assert market_from_gamma(v2).version == "v2"
    async with Harness(sim, tmp_path) as h:
        assert (await h.start()).ok
        market, token, ask = await h.market()
        result = await h.buy(replace(market, version="v2"), token, ask)
        assert 'Gamma version "v2"' in result.reason and "ExchangeV3" in result.reason
        assert h.sim_orders() == [] and not [
            e for e in h.journal.events(kinds=["clob"]) if e.payload["event"] == "signed"
        ]


async def test_heartbeats_keep_resting_orders_alive_and_a_crash_cancels_them(
    sim: SimServer, tmp_path: Path
) -> None:
    import asyncio
    import time

    from tests.execution.live_helpers import wait_until

    sim.exchange.heartbeat_timeout_s = 2.5  # the CLOB's 10 s, shortened for the test
    async with Harness(sim, tmp_path, heartbeat_s=0.3, confirm_timeout_s=30.0) as h:
        assert (await h.start()).ok
        market, token, ask = await h.market()
        entry = await h.buy(market, token, ask, over=D("0.03"))
        assert entry.filled_shares == D(10), entry.reason
        exit_task = asyncio.create_task(h.sell(market, token, ask))
        resting = await h.resting_sell()
        # Beating: well past the timeout the order still rests (a stale id is set right too).
        h.broker.heartbeat.heartbeat_id = "not-the-current-id"
        await asyncio.sleep(3.5)
        assert resting.status == "LIVE" and h.broker.heartbeat.accepted >= 5
        assert not h.broker.heartbeat.failing
        # A crash: no heartbeat, no cancel, nobody following the order.
        assert h.broker.heartbeat.task is not None
        h.broker.heartbeat.task.cancel()
        exit_task.cancel()
        crashed = time.monotonic()
        await wait_until(lambda: resting.status == "CANCELED", 8)
        assert 2.0 < time.monotonic() - crashed < 6.0
