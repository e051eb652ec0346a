"""The mempool source on a real node: anvil under --no-mining, an impersonated operator
sending real matchOrders calldata to the V2 exchange address, then evm_mine (or not)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any

import pytest

from polytui.feeds.chain import ChainFeed
from polytui.feeds.mempool import MempoolFeed
from polytui.feeds.stream import WhaleStream
from polytui.model import FeedState, Market, Outcome, Role, Side, TradeSource, WhaleTrade
from polytui.settings import EXCHANGE_V2
from tests.anvil import Anvil, running_anvil
from tests.feeds.wsserver import ReplayServer
from tests.matchorders_calldata import (
    REVERT_RUNTIME,
    Order,
    calldata,
    log_emitter_runtime,
    order_filled_v2,
)

WHALE = "0x" + "ab" * 20
OTHER = "0x" + "cd" * 20
OPERATOR = "0x" + "0e" * 20
EXCHANGE = EXCHANGE_V2.lower()
TOKEN = 1234
MARKET = Market(
    condition_id="0x" + "c0" * 32,
    question="Will it rain?",
    slug="rain",
    outcomes=(Outcome(0, "Yes", str(TOKEN)), Outcome(1, "No", "4321")),
    end_time=None,
)


@pytest.fixture(scope="module")
def node() -> Iterator[Anvil]:
    with running_anvil(no_mining=True) as anvil:
        anvil.rpc("anvil_impersonateAccount", OPERATOR)
        anvil.rpc("anvil_setBalance", OPERATOR, hex(10**21))
        yield anvil


async def until(check: Callable[[], object], timeout: float = 8.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise TimeoutError


@dataclass
class Rig:
    """The mempool and chain sources on one node, merged by the stream."""

    node: Anvil
    mempool: MempoolFeed
    chain: ChainFeed
    stream: WhaleStream
    emitted: list[WhaleTrade] = field(default_factory=list)
    confirmed: list[tuple[object, WhaleTrade]] = field(default_factory=list)
    withdrawn: list[tuple[object, str]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    def send(self, data: str, **extra: Any) -> str:
        tx = {"from": OPERATOR, "to": EXCHANGE, "data": data, "gas": hex(2_000_000), **extra}
        return str(self.node.rpc("eth_sendTransaction", tx))


async def lookup(token: str) -> Market | None:
    return MARKET if MARKET.outcome_for(token) else None


@pytest.fixture
async def rig(node: Anvil) -> AsyncIterator[Rig]:
    node.rpc("anvil_dropAllTransactions")
    node.rpc("anvil_setCode", EXCHANGE, "0x")
    holder: list[Rig] = []
    stream = WhaleStream(
        lookup,
        lambda t: holder[0].emitted.append(t),
        on_confirm=lambda k, t: holder[0].confirmed.append((k, t)),
        on_withdraw=lambda k, r: holder[0].withdrawn.append((k, r)),
    )
    mempool = MempoolFeed(
        node.ws_url,
        addresses=[EXCHANGE],
        wallets={WHALE},
        on_trade=stream.offer,
        on_retract=stream.withdraw,
        on_notice=lambda level, text: holder[0].notices.append(text),
        check_every_s=0.1,
        backoff_initial_s=0.02,
        backoff_cap_s=0.05,
    )
    chain = ChainFeed(
        node.ws_url,
        addresses=[EXCHANGE],
        wallets={WHALE},
        on_trade=stream.offer,
        backoff_initial_s=0.02,
        backoff_cap_s=0.05,
    )
    holder.append(Rig(node, mempool, chain, stream))
    tasks = [asyncio.create_task(x.run()) for x in (stream, mempool, chain)]
    await until(lambda: mempool.status().connected and chain.status().connected)
    await until(lambda: len(mempool._subs) == 2)
    yield holder[0]
    await mempool.stop()
    await chain.stop()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def whale_buy(stamp_ms: int = 0) -> str:
    """The whale BUYs 25 shares at 0.64 (16 pUSD) against OTHER's resting SELL at 0.60."""
    stamp_ms = stamp_ms or int(datetime.now(UTC).timestamp() * 1000)
    taker = Order(WHALE, TOKEN, 16_000_000, 25_000_000, 0, stamp_ms)
    maker = Order(OTHER, TOKEN, 26_000_000, 15_600_000, 1, stamp_ms - 60_000)
    return calldata(taker, [maker], 16_000_000, [26_000_000], taker_fee=403_200)


async def test_a_pending_match_is_a_tentative_trade_and_its_logs_confirm_it(rig: Rig) -> None:
    # The exchange's code emits the taker's OrderFilled: 26 shares for 16 pUSD (better than
    # the 0.64 limit the pending trade was sized at).
    log = order_filled_v2(
        maker=WHALE, taker=EXCHANGE, side=0, token=TOKEN, maker_filled=16_000_000,
        taker_filled=26_000_000,
    )  # fmt: skip
    rig.node.rpc("anvil_setCode", EXCHANGE, log_emitter_runtime([log]))
    tx_hash = await asyncio.to_thread(rig.send, whale_buy())
    await until(lambda: rig.emitted)
    (pending,) = rig.emitted
    assert pending.pending_tx and pending.source is TradeSource.MEMPOOL
    assert (pending.wallet, pending.side, pending.token_id) == (WHALE, Side.BUY, str(TOKEN))
    assert (pending.price, pending.shares, pending.role) == (D("0.64"), D(25), Role.TAKER)
    assert pending.tx_hash == tx_hash.lower() and pending.outcome == "Yes"
    assert not rig.confirmed
    await asyncio.to_thread(rig.node.rpc, "evm_mine")
    await until(lambda: rig.confirmed)
    key, settled = rig.confirmed[0]
    assert key == pending.dedup_key
    assert settled.tx_hash == pending.tx_hash and settled.shares == D(26)
    assert settled.price == D("0.615385")
    await until(lambda: rig.mempool.tracked == 0)
    assert len(rig.emitted) == 1 and not rig.withdrawn  # one signal, confirmed, not two
    assert rig.mempool.confirmed_mined == 1


async def test_a_dropped_transaction_is_retracted(rig: Rig) -> None:
    tx_hash = await asyncio.to_thread(rig.send, whale_buy())
    await until(lambda: rig.emitted)
    await asyncio.to_thread(rig.node.rpc, "anvil_dropTransaction", tx_hash)
    await until(lambda: rig.withdrawn)
    key, reason = rig.withdrawn[0]
    assert key == rig.emitted[0].dedup_key and "dropped" in reason
    assert rig.mempool.retracted == {"dropped": 1}


async def test_a_reverted_transaction_is_retracted(rig: Rig) -> None:
    rig.node.rpc("anvil_setCode", EXCHANGE, REVERT_RUNTIME)
    await asyncio.to_thread(rig.send, whale_buy())
    await until(lambda: rig.emitted)
    await asyncio.to_thread(rig.node.rpc, "evm_mine")
    await until(lambda: rig.withdrawn)
    assert "reverted" in rig.withdrawn[0][1]
    assert not rig.confirmed


async def test_a_replaced_transaction_is_retracted(rig: Rig) -> None:
    nonce = int(rig.node.rpc("eth_getTransactionCount", OPERATOR, "pending"), 16)
    gas_price = int(rig.node.rpc("eth_gasPrice"), 16)
    await asyncio.to_thread(rig.send, whale_buy(), nonce=hex(nonce), gasPrice=hex(gas_price * 2))
    await until(lambda: rig.emitted)
    # The operator re-uses the nonce for another transaction at a higher price (a cancel).
    cancel = {"from": OPERATOR, "to": OPERATOR, "value": "0x0", "gas": hex(21_000)}
    cancel |= {"nonce": hex(nonce), "gasPrice": hex(gas_price * 4)}
    await asyncio.to_thread(rig.node.rpc, "eth_sendTransaction", cancel)
    await asyncio.to_thread(rig.node.rpc, "evm_mine")
    await until(lambda: rig.withdrawn)
    assert "replaced" in rig.withdrawn[0][1]
    assert rig.mempool.retracted == {"replaced": 1}


async def test_unwatched_wallets_and_other_contracts_are_ignored(rig: Rig) -> None:
    stamp = int(datetime.now(UTC).timestamp() * 1000)
    other = calldata(Order(OTHER, TOKEN, 1_000_000, 2_000_000, 0, stamp), [], 1_000_000, [])
    await asyncio.to_thread(rig.send, other)
    elsewhere = {"from": OPERATOR, "to": "0x" + "77" * 20, "data": whale_buy(), "gas": "0x1e8480"}
    await asyncio.to_thread(rig.node.rpc, "eth_sendTransaction", elsewhere)
    await until(lambda: rig.mempool.matches == 1 and rig.mempool.ws.messages >= 3)
    await asyncio.sleep(0.3)
    assert rig.emitted == [] and rig.mempool.tracked == 0


async def test_a_node_that_refuses_the_subscription_turns_the_source_off() -> None:
    def reply(text: str) -> str | None:
        import json

        request = json.loads(text)
        if request["params"][0] == "newPendingTransactions":
            return json.dumps(
                {"jsonrpc": "2.0", "id": request["id"], "error": {"code": -32601,
                 "message": "method not supported"}}
            )  # fmt: skip
        return json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": "0x9"})

    notices: list[str] = []
    async with ReplayServer(reply=reply) as server:
        feed = MempoolFeed(
            server.url,
            addresses=[EXCHANGE],
            wallets={WHALE},
            on_trade=lambda t: None,
            on_retract=lambda h, r: None,
            on_notice=lambda level, text: notices.append(f"{level}: {text}"),
        )
        task = asyncio.create_task(feed.run())
        await asyncio.wait_for(task, 5)  # run() ends: no reconnect loop against a refusal
    assert feed.status().state is FeedState.DISABLED
    assert notices == [
        "warning: mempool source off: the node refuses newPendingTransactions "
        "subscriptions (method not supported)"
    ]
    assert server.total_connections == 1


async def test_several_pending_transactions_each_get_their_own_fate(rig: Rig) -> None:
    log = order_filled_v2(
        maker=WHALE, taker=EXCHANGE, side=0, token=TOKEN, maker_filled=16_000_000,
        taker_filled=25_000_000,
    )  # fmt: skip
    rig.node.rpc("anvil_setCode", EXCHANGE, log_emitter_runtime([log]))
    hashes = [await asyncio.to_thread(rig.send, whale_buy()) for _ in range(3)]
    await until(lambda: len(rig.emitted) == 3)
    for tx_hash in hashes[1:]:
        await asyncio.to_thread(rig.node.rpc, "anvil_dropTransaction", tx_hash)
    await asyncio.to_thread(rig.node.rpc, "evm_mine")
    await until(lambda: len(rig.withdrawn) == 2 and rig.confirmed)
    assert {k[0] for k, _ in rig.withdrawn} == {h.lower() for h in hashes[1:]}
    assert [k[0] for k, _ in rig.confirmed] == [hashes[0].lower()]
    await until(lambda: rig.mempool.tracked == 0)  # the mined one once its receipt is read


async def test_an_absurd_maker_leg_leaves_the_whales_own_trade_standing(rig: Rig) -> None:
    # uint256 amounts beyond any pUSD supply (2**200 units) cannot be held to the micro-dollar;
    # that leg is left out, and the watched taker's trade in the same call still counts.
    stamp_ms = int(datetime.now(UTC).timestamp() * 1000)
    taker = Order(WHALE, TOKEN, 16_000_000, 25_000_000, 0, stamp_ms)
    absurd = Order(OTHER, TOKEN, 2**200, 2**199, 1, stamp_ms - 60_000)
    data = calldata(taker, [absurd], 16_000_000, [2**200], taker_fee=403_200)
    await asyncio.to_thread(rig.send, data)
    await until(lambda: rig.emitted)
    assert [(t.wallet, t.side, t.usd) for t in rig.emitted] == [(WHALE, Side.BUY, D(16))]
    assert rig.mempool.ws.rejected == 0
