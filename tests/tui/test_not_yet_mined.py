"""A whale trade read from a pending transaction says so: the signals pane and the approval
dialog show it is not yet mined, and stop saying it once the chain confirms it."""

from __future__ import annotations

from dataclasses import replace

from polytui.model import TradeSource
from polytui.tui.modals import ApprovalDialog
from polytui.tui.signals import SignalsPane
from tests.tui.harness import console
from tests.tui.screen_text import screen_text


def pending(signal):  # type: ignore[no-untyped-def]
    trades = tuple(replace(t, source=TradeSource.MEMPOOL, pending_tx=True) for t in signal.trades)
    return replace(signal, trades=trades)


async def test_a_pending_tx_signal_reads_unmined_until_it_is_confirmed() -> None:
    async with console() as c:
        signal = c.engine.signals["sig-0005"]
        c.engine.put_signal(pending(signal))
        await c.settle()
        pane = c.app.query_one(SignalsPane)
        cells = dict(
            zip([col.key for col in pane.table._columns], pane.table.cells(signal.id), strict=True)
        )
        assert cells["src"].startswith("unmined ")
        pane.table.move_cursor(row=pane.table.keys.index(signal.id))
        await c.settle()
        assert "not yet mined" in screen_text(c.app)
        mined = replace(
            signal, trades=tuple(replace(t, source=TradeSource.MEMPOOL) for t in signal.trades)
        )
        c.engine.put_signal(mined)
        await c.settle()
        assert pane.table.cells(signal.id)[-2].startswith("mempool ")
        assert "not yet mined" not in screen_text(c.app)


async def test_the_approval_dialog_says_the_whale_trade_is_not_yet_mined() -> None:
    async with console() as c:
        await c.press("tab")
        first = c.app.pane("approvals").selected_key()
        intent = c.engine.intents[first]
        c.engine.put_signal(pending(c.engine.signals[intent.signal_id]))
        await c.settle()
        await c.press("enter")
        assert isinstance(c.app.screen, ApprovalDialog)
        text = screen_text(c.app)
        assert "not yet mined" in text and "whale tx" in text
