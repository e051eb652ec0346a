"""Chain feed against a real EVM node (anvil) emitting the exact OrderFilled events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from polytui.feeds.abi import (
    ORDER_FILLED_V1,
    ORDER_FILLED_V1_SIGNATURE,
    ORDER_FILLED_V2,
    ORDER_FILLED_V2_SIGNATURE,
)
from polytui.feeds.chain import ChainFeed, LogError, decode_order_filled, redact_url
from polytui.model import Role, Side, WhaleTrade
from tests.anvil import Anvil, fill_v2, running_anvil
from tests.feeds.wsserver import ReplayServer

WHALE = "0x" + "ab" * 20
OTHER = "0x" + "cd" * 20
RESTING_TAKER = "0x" + "11" * 20


@pytest.fixture(scope="module")
def node() -> Iterator[Anvil]:
    with running_anvil() as anvil:
        yield anvil


def test_topics_are_the_keccak_of_the_signatures() -> None:
    from eth_utils import keccak

    assert "0x" + keccak(text=ORDER_FILLED_V2_SIGNATURE).hex() == ORDER_FILLED_V2
    assert "0x" + keccak(text=ORDER_FILLED_V1_SIGNATURE).hex() == ORDER_FILLED_V1


async def started(feed: ChainFeed) -> asyncio.Task[None]:
    task = asyncio.create_task(feed.run())
    for _ in range(200):
        if feed.status().connected:
            return task
        await asyncio.sleep(0.02)
    raise TimeoutError(feed.status().detail)


async def until(check: object, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.02)
    raise TimeoutError


def make_feed(node: Anvil, got: list[WhaleTrade], **kw: object) -> ChainFeed:
    return ChainFeed(
        node.ws_url,
        addresses=[node.emitter],
        wallets={WHALE},
        on_trade=got.append,
        backoff_initial_s=0.02,
        backoff_cap_s=0.05,
        include_v1=True,
        **kw,
    )  # type: ignore[arg-type]


async def test_v2_and_v1_fills_decode_with_side_price_fee_and_role(node: Anvil) -> None:
    got: list[WhaleTrade] = []
    feed = make_feed(node, got)
    task = await started(feed)
    # PROTOCOL.md §5's decoded example: taker BUY 25 shares for 16.00 pUSD, fee 0.4032.
    await asyncio.to_thread(
        node.order_filled_v2,
        maker=WHALE,
        taker=node.emitter,
        side=0,
        token=1234,
        maker_amount=16_000_000,
        taker_amount=25_000_000,
        fee=403_200,
    )
    # A resting SELL: gave 10 shares, got 3.70 pUSD; taker is another wallet → maker role.
    await asyncio.to_thread(
        node.order_filled_v2,
        maker=WHALE,
        taker=RESTING_TAKER,
        side=1,
        token=77,
        maker_amount=10_000_000,
        taker_amount=3_700_000,
    )
    # V1: makerAssetId 0 → BUY of takerAssetId; otherwise SELL of makerAssetId.
    await asyncio.to_thread(
        node.order_filled_v1,
        maker=WHALE,
        taker=node.emitter,
        maker_asset=0,
        taker_asset=555,
        maker_amount=4_500_000,
        taker_amount=10_000_000,
    )
    await asyncio.to_thread(
        node.order_filled_v1,
        maker=WHALE,
        taker=RESTING_TAKER,
        maker_asset=556,
        taker_asset=0,
        maker_amount=2_000_000,
        taker_amount=1_100_000,
    )
    await until(lambda: len(got) == 4)
    buy, sell, v1_buy, v1_sell = got
    assert (buy.side, buy.token_id, buy.shares, buy.price) == (Side.BUY, "1234", D(25), D("0.64"))
    assert buy.fee_usd == D("0.4032") and buy.usd == D(16) and buy.role is Role.TAKER
    assert (sell.side, sell.token_id, sell.shares, sell.price) == (
        Side.SELL,
        "77",
        D(10),
        D("0.37"),
    )
    assert sell.role is Role.MAKER
    assert (v1_buy.side, v1_buy.token_id, v1_buy.price) == (Side.BUY, "555", D("0.45"))
    assert (v1_sell.side, v1_sell.token_id, v1_sell.price) == (Side.SELL, "556", D("0.55"))
    assert all(t.wallet == WHALE and t.block_number for t in got)
    await feed.stop()
    task.cancel()


async def test_maker_filter_keeps_unwatched_wallets_out(node: Anvil) -> None:
    got: list[WhaleTrade] = []
    feed = make_feed(node, got)
    task = await started(feed)
    await fill_v2(node, OTHER, 1)
    await fill_v2(node, WHALE, 2)
    await until(lambda: len(got) == 1)
    await asyncio.sleep(0.3)
    assert [t.token_id for t in got] == ["2"]
    assert feed.messages == 1  # filtered by the node on topic 2, not here
    await feed.stop()
    task.cancel()


async def test_a_new_watch_list_swaps_the_node_filter_on_the_same_connection(
    node: Anvil,
) -> None:
    got: list[WhaleTrade] = []
    feed = make_feed(node, got)
    task = await started(feed)

    await fill_v2(node, OTHER, 20)  # not watched yet: the node does not send it
    await fill_v2(node, WHALE, 21)
    await until(lambda: len(got) == 1)
    await feed.watch({WHALE, OTHER.upper().replace("0X", "0x")})
    await fill_v2(node, OTHER, 22)
    await fill_v2(node, WHALE, 23)
    await until(lambda: len(got) == 3)
    await feed.watch({OTHER})
    await fill_v2(node, WHALE, 24)  # dropped from the list: filtered out by the node again
    await fill_v2(node, OTHER, 25)
    await until(lambda: len(got) == 4)
    await asyncio.sleep(0.3)
    assert [t.token_id for t in got] == ["21", "22", "23", "25"], "OTHER's earlier fill is history"
    assert feed.messages == 4, "the node filtered; nothing arrived twice"
    assert feed.connections == 1 and feed.reconnects == 0
    await feed.stop()
    task.cancel()


async def test_restarted_subscription_backfills_the_gap_without_duplicates(node: Anvil) -> None:
    got: list[WhaleTrade] = []
    feed = make_feed(node, got)
    task = await started(feed)
    await fill_v2(node, WHALE, 10)
    await until(lambda: len(got) == 1)
    await feed.stop()
    await asyncio.wait_for(task, 5)
    for token in (11, 12, 13):  # emitted while we were disconnected
        await fill_v2(node, WHALE, token)
    task = await started(feed)
    await until(lambda: len(got) == 4)
    await fill_v2(node, WHALE, 14)
    await until(lambda: len(got) == 5)
    await asyncio.sleep(0.3)
    assert [t.token_id for t in got] == ["10", "11", "12", "13", "14"]
    assert feed.backfilled == 3
    await feed.stop()
    task.cancel()


async def test_removed_log_retracts_the_trade(node: Anvil) -> None:
    # anvil's anvil_reorg rewrites blocks but does not re-send logs as removed on the
    # subscription, so the removal is fed as the recorded log a node would send.
    got: list[WhaleTrade] = []
    retracted: list[object] = []
    feed = make_feed(node, got, on_retract=retracted.append)
    task = await started(feed)
    await fill_v2(node, WHALE, 20)
    await until(lambda: len(got) == 1)
    [entry] = await asyncio.to_thread(
        node.rpc,
        "eth_getLogs",
        {
            "address": node.emitter,
            "fromBlock": hex(got[0].block_number or 0),
            "toBlock": hex(got[0].block_number or 0),
        },
    )
    await feed.handle_log(dict(entry, removed=True))
    assert retracted == [got[0].dedup_key]
    await feed.handle_log(dict(entry, removed=True))  # a second removal is a no-op
    assert len(retracted) == 1
    await feed.stop()
    task.cancel()


BASE = {
    "topics": [
        ORDER_FILLED_V2,
        "0x" + "00" * 31 + "01",
        "0x" + "00" * 12 + "ab" * 20,
        "0x" + "00" * 12 + "ee" * 20,
    ],
    "data": "0x" + "".join(f"{v:064x}" for v in [0, 5, 1_000_000, 2_000_000, 0, 0, 0]),
    "transactionHash": "0x" + "12" * 32,
    "blockNumber": "0x5",
    "logIndex": "0x0",
}
NOW = datetime(2026, 11, 24, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"topics": BASE["topics"][:3]}, "4 topics"),
        ({"data": BASE["data"][:-64]}, "bytes"),
        ({"data": "0x" + "".join(f"{v:064x}" for v in [0, 5, 1, 0, 0, 0, 0])}, "zero shares"),
        (
            {"data": "0x" + "".join(f"{v:064x}" for v in [0, 5, 9_000_000, 1_000_000, 0, 0, 0])},
            "absurd price",
        ),
        ({"data": "0x" + "".join(f"{v:064x}" for v in [7, 5, 1, 2, 0, 0, 0])}, "bad side"),
        ({"topics": ["0x" + "99" * 32, *BASE["topics"][1:]]}, "not an OrderFilled"),
    ],
)
def test_bad_logs_raise_a_named_error(change: dict[str, object], why: str) -> None:
    with pytest.raises(LogError, match=why):
        decode_order_filled(dict(BASE, **change), set(), NOW, NOW)


async def test_bad_logs_are_counted_not_fatal() -> None:
    feed = ChainFeed("ws://127.0.0.1:9", addresses=[], wallets={WHALE}, on_trade=lambda t: None)
    await feed.handle_log(dict(BASE, blockTimestamp="0x1", topics=BASE["topics"][:2]))
    await feed.handle_log({"nonsense": True})
    assert feed.status().rejected == 2


async def test_bad_rpc_url_gives_a_redacted_status() -> None:
    secret = "ws://127.0.0.1:9/v2/SECRETKEY123?apikey=HIDDEN"
    feed = ChainFeed(
        secret,
        addresses=[],
        wallets={WHALE},
        on_trade=lambda t: None,
        backoff_initial_s=0.01,
        backoff_cap_s=0.02,
    )
    task = asyncio.create_task(feed.run())
    await until(lambda: feed.status().reconnects >= 1)
    detail = feed.status().detail
    assert detail.startswith("chain: cannot connect to ws://127.0.0.1:9/…")
    assert "SECRETKEY123" not in detail and "HIDDEN" not in detail
    await feed.stop()
    task.cancel()
    assert redact_url("wss://user:pw@polygon.example/key") == "wss://polygon.example/…"


# --- the raw notification path, against a loopback node that answers lookups when told ------

EXCHANGE = "0x" + "ee" * 20


def _node_reply(lookups: list[int]) -> Callable[[str], str | None]:
    """Answers subscriptions at once; block lookups are recorded and answered by the test."""

    def reply(text: str) -> str | None:
        request = json.loads(text)
        method, params = request["method"], request.get("params") or []
        if method == "eth_getBlockByNumber":
            lookups.append(request["id"])
            return None
        result: object = "0x1" if params and params[0] == "logs" else "0x2"
        if method != "eth_subscribe":
            result = True
        return json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": result})

    return reply


def _note(block: int, tx: int, stamp: int | None = None) -> str:
    entry: dict[str, object] = dict(
        BASE, blockNumber=hex(block), transactionHash="0x" + f"{tx:064x}", logIndex="0x0"
    )
    if stamp is not None:
        entry["blockTimestamp"] = hex(stamp)
    params = {"subscription": "0x1", "result": entry}
    return json.dumps({"jsonrpc": "2.0", "method": "eth_subscription", "params": params})


async def test_a_log_waiting_for_its_block_time_keeps_its_place_in_line() -> None:
    # A log without blockTimestamp waits for the node's answer; a stamped log right behind it is
    # decodable at once, but a trade must not overtake the earlier one.
    lookups: list[int] = []
    async with ReplayServer(reply=_node_reply(lookups)) as node:
        got: list[WhaleTrade] = []
        feed = ChainFeed(node.url, addresses=[EXCHANGE], wallets={WHALE}, on_trade=got.append)
        task = await started(feed)
        await node.broadcast(_note(block=5, tx=1))
        await node.broadcast(_note(block=6, tx=2, stamp=1_700_000_012))
        await until(lambda: lookups)
        await asyncio.sleep(0.1)
        assert got == [], "the stamped log waits behind the one being looked up"
        block = {"number": "0x5", "hash": "0x" + "55" * 32, "parentHash": "0x" + "44" * 32}
        block.update(timestamp=hex(1_700_000_010), transactions=[])  # type: ignore[arg-type]
        await node.broadcast(json.dumps({"jsonrpc": "2.0", "id": lookups[0], "result": block}))
        await until(lambda: len(got) == 2)
        assert [t.block_number for t in got] == [5, 6]
        assert got[0].match_time == datetime.fromtimestamp(1_700_000_010, tz=UTC)
        assert got[1].match_time == datetime.fromtimestamp(1_700_000_012, tz=UTC)
        assert feed.rejected == 0 and feed.last_block == 6
        await feed.stop()
        task.cancel()


async def test_a_consumer_that_raises_ends_the_session_and_the_feed_reconnects() -> None:
    # The trade is handed on from the socket's reader; a failure there must end the session
    # (as any session error does), not vanish with the reader or stop the notifications.
    async with ReplayServer(reply=_node_reply([])) as node:

        def on_trade(trade: WhaleTrade) -> None:
            raise RuntimeError("consumer broke")

        feed = ChainFeed(
            node.url,
            addresses=[EXCHANGE],
            wallets={WHALE},
            on_trade=on_trade,
            backoff_initial_s=0.01,
            backoff_cap_s=0.02,
        )
        task = await started(feed)
        await node.broadcast(_note(block=7, tx=3, stamp=1_700_000_000))
        await until(lambda: feed.reconnects >= 1 and feed.status().connected)
        assert node.total_connections == 2 and node.max_connections == 1
        await feed.stop()
        task.cancel()


async def test_a_block_time_out_of_range_drops_that_log_and_keeps_the_session() -> None:
    # The node answered, with a timestamp no datetime holds: bad input, counted and dropped.
    # Ending the session would read the same block again on every reconnect, for ever.
    lookups: list[int] = []
    async with ReplayServer(reply=_node_reply(lookups)) as node:
        got: list[WhaleTrade] = []
        feed = ChainFeed(
            node.url,
            addresses=[EXCHANGE],
            wallets={WHALE},
            on_trade=got.append,
            backoff_initial_s=0.01,
            backoff_cap_s=0.02,
        )
        task = await started(feed)
        await node.broadcast(_note(block=5, tx=1))
        await until(lambda: lookups)
        block = {"number": "0x5", "hash": "0x" + "55" * 32, "parentHash": "0x" + "44" * 32}
        block.update(timestamp=hex(10**30), transactions=[])  # type: ignore[arg-type]
        await node.broadcast(json.dumps({"jsonrpc": "2.0", "id": lookups[0], "result": block}))
        await node.broadcast(_note(block=6, tx=2, stamp=1_700_000_012))
        await until(lambda: len(got) == 1 or feed.reconnects >= 1)
        assert [t.block_number for t in got] == [6]
        assert feed.rejected == 1 and feed.reconnects == 0 and node.total_connections == 1
        await feed.stop()
        task.cancel()
