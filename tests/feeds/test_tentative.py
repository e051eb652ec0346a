"""The merged stream's pending-transaction trades: confirmed by the chain's log of the same
transaction, withdrawn when it is never mined, one signal either way."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from functools import partial
from types import FrameType

import pytest

from polytui.feeds.stream import WhaleStream
from polytui.feeds.tentative import LEGS_KEPT, TentativeBook
from polytui.model import Market, Outcome, Role, Side, TradeSource, WhaleTrade

WHALE = "0x" + "ab" * 20
T0 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
MARKET = Market(
    condition_id="0xc0",
    question="Q?",
    slug="q",
    outcomes=(Outcome(0, "Yes", "7"), Outcome(1, "No", "8")),
    end_time=None,
)
PENDING = WhaleTrade(
    wallet=WHALE,
    token_id="7",
    side=Side.BUY,
    price=D("0.64"),
    shares=D(25),
    usd=D(16),
    tx_hash="0xaa",
    source=TradeSource.MEMPOOL,
    match_time=T0,
    received_at=T0 + timedelta(milliseconds=650),
    role=Role.TAKER,
    pending_tx=True,
)
LOGGED = replace(
    PENDING,
    source=TradeSource.CHAIN,
    price=D("0.615385"),
    shares=D(26),
    received_at=T0 + timedelta(milliseconds=2200),
    block_number=9,
    log_index=3,
    pending_tx=False,
)
RTDS = replace(LOGGED, source=TradeSource.ACTIVITY, block_number=None, log_index=None)


@dataclass
class Out:
    stream: WhaleStream
    gate: asyncio.Event
    emitted: list[WhaleTrade] = field(default_factory=list)
    confirmed: list[tuple[object, WhaleTrade]] = field(default_factory=list)
    withdrawn: list[tuple[object, str]] = field(default_factory=list)


@pytest.fixture
async def out() -> AsyncIterator[Out]:
    gate = asyncio.Event()
    gate.set()

    async def lookup(token: str) -> Market | None:
        await gate.wait()  # cleared: the market's metadata is slow to come
        return MARKET

    holder: list[Out] = []
    stream = WhaleStream(
        lookup,
        lambda t: holder[0].emitted.append(t),
        on_confirm=lambda k, t: holder[0].confirmed.append((k, t)),
        on_withdraw=lambda k, r: holder[0].withdrawn.append((k, r)),
    )
    holder.append(Out(stream, gate))
    task = asyncio.create_task(stream.run())
    yield holder[0]
    task.cancel()


async def settle(out: Out) -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_the_chain_log_confirms_the_pending_trade_with_its_amounts(out: Out) -> None:
    out.stream.offer(PENDING)
    await settle(out)
    out.stream.offer(LOGGED)
    await settle(out)
    assert [t.pending_tx for t in out.emitted] == [True]
    assert out.confirmed == [(PENDING.dedup_key, LOGGED)]
    # The data-api's later sighting (the log's amounts) is a duplicate, not a second signal.
    out.stream.offer(replace(LOGGED, source=TradeSource.DATAAPI))
    await settle(out)
    assert len(out.emitted) == 1 and out.stream.duplicates == 2  # the log and the data-api


async def test_a_log_that_comes_while_the_market_is_looked_up_is_emitted_confirmed(
    out: Out,
) -> None:
    out.gate.clear()
    out.stream.offer(PENDING)
    await settle(out)
    out.stream.offer(LOGGED)
    out.gate.set()
    await settle(out)
    (trade,) = out.emitted
    assert not trade.pending_tx and trade.shares == D(26) and trade.price == D("0.615385")
    assert trade.source is TradeSource.MEMPOOL and trade.latency_ms == 650
    assert out.confirmed == []


async def test_rtds_between_the_mempool_and_the_log_is_a_duplicate(out: Out) -> None:
    out.stream.offer(PENDING)
    out.stream.offer(RTDS)
    await settle(out)
    out.stream.offer(LOGGED)
    await settle(out)
    assert len(out.emitted) == 1 and len(out.confirmed) == 1


async def test_a_pending_trade_after_rtds_delivered_it_is_a_duplicate(out: Out) -> None:
    out.stream.offer(RTDS)
    out.stream.offer(PENDING)
    await settle(out)
    assert [t.source for t in out.emitted] == [TradeSource.ACTIVITY]


async def test_a_withdrawn_transaction_withdraws_its_emitted_trade(out: Out) -> None:
    out.stream.offer(PENDING)
    await settle(out)
    out.stream.withdraw("0xAA", "dropped from the mempool")
    assert out.withdrawn == [(PENDING.dedup_key, "dropped from the mempool")]
    assert len(out.stream.tentative) == 0


async def test_a_transaction_withdrawn_before_its_market_came_is_never_emitted(
    out: Out,
) -> None:
    out.gate.clear()
    out.stream.offer(PENDING)
    await settle(out)
    out.stream.withdraw("0xaa", "reverted on chain")
    out.gate.set()
    await settle(out)
    assert out.emitted == [] and out.withdrawn == []


async def test_a_log_with_the_pending_amounts_still_confirms(out: Out) -> None:
    # The whale's fill at its limit price: the same dedup key from both sources.
    same = replace(PENDING, source=TradeSource.CHAIN, block_number=9, log_index=1, pending_tx=False)
    out.stream.offer(PENDING)
    await settle(out)
    out.stream.offer(same)
    await settle(out)
    assert len(out.emitted) == 1 and out.confirmed == [(PENDING.dedup_key, same)]


async def test_a_pending_trade_dropped_for_its_market_takes_no_later_news(out: Out) -> None:
    # Token 9 is no outcome of the market: the trade is dropped, never a signal, so neither
    # its withdrawal nor a log of its transaction is news for the engine.
    stray = replace(PENDING, token_id="9")
    out.stream.offer(stray)
    out.stream.offer(replace(stray, tx_hash="0xbb"))
    await settle(out)
    assert out.emitted == [] and out.stream.dropped == 2
    out.stream.withdraw("0xaa", "dropped from the mempool")
    out.stream.offer(replace(LOGGED, token_id="9", tx_hash="0xbb"))
    await settle(out)
    assert out.withdrawn == [] and out.confirmed == []


async def test_one_tokens_trades_keep_their_order_whichever_source_brought_them() -> None:
    # The chain's log carries the token only, RTDS the condition too: the same market's
    # trades share one lane, so a fast second lookup cannot overtake the slow first one.
    gate = asyncio.Event()
    calls: list[str] = []

    async def lookup(token: str) -> Market | None:
        calls.append(token)
        if len(calls) == 1:
            await gate.wait()  # the first lookup of the cold market is the slow one
        return MARKET

    emitted: list[WhaleTrade] = []
    stream = WhaleStream(lookup, emitted.append)
    task = asyncio.create_task(stream.run())
    logged = replace(LOGGED, tx_hash="0x01", condition_id="")
    rtds = replace(RTDS, tx_hash="0x02", condition_id=MARKET.condition_id)
    stream.offer(logged)
    stream.offer(rtds)
    for _ in range(20):
        await asyncio.sleep(0)
    assert emitted == [] and stream.pending == 2  # the second waits behind the first
    gate.set()
    for _ in range(20):
        await asyncio.sleep(0)
    task.cancel()
    assert [t.tx_hash for t in emitted] == ["0x01", "0x02"]


def lines_run(call: Callable[[], object]) -> int:
    """How many Python lines ``call`` executes (its own and its callees'): work, not time."""
    count = 0

    def tracer(frame: FrameType, event: str, arg: object) -> Callable[..., object]:
        nonlocal count
        count += event == "line"
        return tracer

    before = sys.gettrace()
    sys.settrace(tracer)
    try:
        call()
    finally:
        sys.settrace(before)
    return count


def test_withdrawing_a_transaction_looks_at_its_own_legs_only() -> None:
    def book_with(others: int) -> TentativeBook:
        book = TentativeBook()
        for n in range(others):
            book.add(replace(PENDING, tx_hash=f"0x{n:04x}"))
        book.add(replace(PENDING, tx_hash="0xAA"))
        book.add(replace(PENDING, tx_hash="0xaa", side=Side.SELL))
        return book

    few, many = book_with(1), book_with(5_000)
    work = [lines_run(partial(book.withdraw, "0xaa")) for book in (few, many)]
    assert work[0] == work[1]  # the same work whatever else is pending
    assert len(few) == 1 and len(many) == 5_000
    assert many.withdraw("0xaa") == [] and len(many.withdraw("0x0003")) == 1


def test_the_pending_book_stays_bounded_and_withdraws_what_it_still_holds() -> None:
    book = TentativeBook()
    for n in range(LEGS_KEPT + 10):
        book.add(replace(PENDING, tx_hash=f"0x{n:06x}"))
    assert len(book) == LEGS_KEPT
    assert book.withdraw("0x000000") == []  # the oldest went with the bound
    assert len(book.withdraw(f"0x{LEGS_KEPT + 9:06x}")) == 1
    held = replace(PENDING, tx_hash="0x000020")
    assert book.settle(replace(held, source=TradeSource.CHAIN, pending_tx=False)) is not None
    assert book.withdraw("0x000020") == []  # settled: nothing left to withdraw
