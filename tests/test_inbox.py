"""The engine inbox's bound sheds whale trades only, never a message that changes money."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

from polytui.engine.inbox import (
    Inbox,
    LateFill,
    Message,
    Noticed,
    Resolved,
    Retracted,
    TradeArrived,
    TxGone,
    TxMined,
)
from polytui.model import Fill, Resolution, Side, TradeSource, WhaleTrade

NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)


def trade(n: int) -> WhaleTrade:
    return WhaleTrade(
        "0xwhale", "tok", Side.BUY, D("0.5"), D(10), D(5), f"0x{n:064x}",
        TradeSource.ACTIVITY, NOW, NOW, condition_id="0xc",
    )  # fmt: skip


def late_fill() -> Fill:
    return Fill("f1", "o1", "i1", "tok", "0xc", Side.BUY, D(10), D("0.5"), D(0), NOW)


async def test_a_full_inbox_sheds_whale_trades_and_keeps_everything_else_in_order() -> None:
    inbox = Inbox(maxsize=2)
    inbox.submit_trade(trade(1))
    inbox.submit_trade(trade(2))  # full now
    inbox.submit_trade(trade(3))  # shed
    inbox.submit_fill(late_fill())
    inbox.submit_resolved(Resolution.winner("0xc", "tok", "ws", NOW))
    inbox.submit_tx_mined("k", trade(4))
    inbox.submit_tx_gone("k", "dropped")
    inbox.submit_retraction("k")
    inbox.submit_notice("warning", "mempool source refused", "mempool")
    inbox.submit_trade(trade(5))  # still full: shed

    assert inbox.dropped == 2
    seen: list[Message] = []

    async def handle(message: Message) -> None:
        seen.append(message)

    await inbox.drain(handle)
    assert [type(m) for m in seen] == [
        TradeArrived, TradeArrived, LateFill, Resolved, TxMined, TxGone, Retracted, Noticed,
    ]  # fmt: skip
    assert [m.trade.tx_hash for m in seen if isinstance(m, TradeArrived)] == [
        trade(1).tx_hash, trade(2).tx_hash,
    ]  # fmt: skip
    assert isinstance(seen[2], LateFill) and seen[2].fill == late_fill()


async def test_room_again_takes_whale_trades_again() -> None:
    inbox = Inbox(maxsize=1)
    inbox.submit_trade(trade(1))
    inbox.submit_fill(late_fill())
    inbox.submit_trade(trade(2))
    assert inbox.dropped == 1

    async def handle(message: Message) -> None:
        pass

    await inbox.drain(handle)
    inbox.submit_trade(trade(3))
    assert inbox.dropped == 1 and inbox.qsize() == 1


def test_every_message_kind_says_whether_it_may_be_shed() -> None:
    kinds = Message.__args__  # type: ignore[attr-defined]
    assert {k.__name__ for k in kinds if not k.must_keep} == {"TradeArrived"}
