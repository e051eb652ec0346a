"""The account side of live trading against the simulator speaking the real CLOB's dialect.

The CLOB's cached allowances (stale until ``/balance-allowance/update``), deposit wallets
(POLY_1271 signatures, maker = signer = the wallet) and Protocol-V2 markets refused before
signing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal as D
from pathlib import Path

import pytest

from polytui.model import OrderStatus, Side
from polytui.sim.server import SimServer
from tests.execution.live_helpers import ADDRESS
from tests.execution.test_live import Harness


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    async with SimServer("demo", seed=7, speed=3) as server:
        yield server


async def test_a_stale_collateral_allowance_is_refreshed_at_start_up(
    sim: SimServer, tmp_path: Path
) -> None:
    sim.exchange.stale_allowance(ADDRESS)  # approved on chain after the CLOB cached the wallet
    async with Harness(sim, tmp_path) as h:
        report = await h.broker.start({}, h.journal)
        assert report.ok, report.notices
        assert report.allowances and min(report.allowances.values()) > D(10) ** 9


async def test_sells_refresh_the_token_allowance_first_and_an_exit_retries_once(
    sim: SimServer, tmp_path: Path
) -> None:
    async with Harness(sim, tmp_path) as h:
        assert (await h.broker.start({}, h.journal)).ok
        market, token, ask = await h.market()
        book = sim.rest_book(token)
        assert book is not None
        bid = D(book["bids"][-1]["price"])

        async def round_trip() -> object:
            entry = await h.broker.execute(
                h.order(token, Side.BUY, "10", ask + D("0.03")),
                market,
                sized_price=ask,
                whale_price=ask,
            )
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
        assert (await h.broker.start({}, h.journal)).ok
        market, token, ask = await h.market()
        sim.exchange.stale_allowance(ADDRESS)
        entry = await h.broker.execute(
            h.order(token, Side.BUY, "10", ask + D("0.03")),
            market,
            sized_price=ask,
            whale_price=ask,
        )
        assert "not enough balance / allowance" in entry.reason
        assert h.sim_orders() == [] and not any(o.status is OrderStatus.NEW for o in h.statuses)
