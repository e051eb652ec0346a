"""The simulator's mempool: each fill's matchOrders transaction pending ~0.65 s after the match,
mined with its log at ~2.2 s, or dropped on demand; read by the real mempool source."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from polytui.feeds.mempool import MempoolFeed
from polytui.model import Side, TradeSource, WhaleTrade
from polytui.sim.server import SimServer


async def until(check: Callable[[], object], timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise TimeoutError


def feed_for(sim: SimServer, got: list[WhaleTrade], gone: list[tuple[str, str]]) -> MempoolFeed:
    return MempoolFeed(
        sim.urls["rpc_ws_url"],
        addresses=[sim.exchange_address],
        wallets=set(sim.whale_wallets),
        on_trade=got.append,
        on_retract=lambda h, r: gone.append((h, r)),
        check_every_s=0.1,
    )


async def test_pending_transactions_come_at_the_measured_delay_then_are_mined() -> None:
    got: list[WhaleTrade] = []
    gone: list[tuple[str, str]] = []
    async with SimServer("demo", seed=7, speed=1) as sim:
        feed = feed_for(sim, got, gone)
        mined_when_seen: list[int] = []
        feed.on_trade = lambda t: (got.append(t), mined_when_seen.append(feed.confirmed_mined))
        task = asyncio.create_task(feed.run())
        await until(lambda: got)
        first = sim.scenario.trades[0]
        trade = got[0]
        assert trade.pending_tx and trade.source is TradeSource.MEMPOOL
        assert (trade.wallet, trade.token_id, trade.tx_hash) == (
            first.wallet.lower(),
            first.token_id,
            first.tx_hash,
        )
        assert trade.side is Side(first.side) and trade.price == first.price
        assert trade.shares == first.shares
        # Never before the pending delay (0.65 s after the taker order's timestamp), and seen
        # while still pending: an order, not a wall-clock bound a loaded machine could break
        # (the delay itself is checked on the virtual clock in tests/backtest).
        assert trade.latency_ms >= 600, trade.latency_ms
        assert mined_when_seen[0] == 0 and gone == []
        await until(lambda: feed.confirmed_mined >= 1)
        assert gone == []
        await feed.stop()
        task.cancel()


async def test_a_dropped_transaction_is_retracted_and_never_logged() -> None:
    got: list[WhaleTrade] = []
    gone: list[tuple[str, str]] = []
    async with SimServer("demo", seed=7, speed=2) as sim:
        sim.drop_pending_txs(1)
        feed = feed_for(sim, got, gone)
        task = asyncio.create_task(feed.run())
        await until(lambda: gone)
        first = sim.scenario.trades[0]
        assert gone[0] == (first.tx_hash, "dropped from the mempool")
        await until(lambda: sim.chain.logs)
        assert first.tx_hash not in {e["transactionHash"] for e in sim.chain.logs}
        await feed.stop()
        task.cancel()
