"""Regression tests for the four console bugs a trader hit (each fails on the old console)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from polytui.model import LimitUse, Position, RiskSnapshot, SignalStatus
from polytui.tui.fixtures import SCENARIO_START, build_scenario
from tests.tui.harness import console
from tests.tui.screen_text import screen_lines, screen_text


async def test_new_signals_stay_in_view_while_the_trader_does_nothing() -> None:
    async with console(size=(160, 48)) as c:
        template = next(iter(c.engine.signals.values()))
        for k in range(40):
            c.clock.advance(2)
            at = c.clock.now()
            c.engine.put_signal(
                replace(template, id=f"new-{k:02d}", created_at=at, status=SignalStatus.PENDING)
            )
            await c.settle()
        newest = c.clock.now().strftime("%H:%M:%S")
        assert newest in screen_text(c.app), "the newest signal must be on screen"
        assert c.app.pane("signals").table.selected_key == "new-39"


async def test_a_trader_who_moved_the_cursor_keeps_it_and_sees_a_new_count() -> None:
    async with console(size=(160, 48)) as c:
        table = c.app.pane("signals").table
        table.move_cursor(row=3)
        await c.settle()
        chosen = table.selected_key
        template = next(iter(c.engine.signals.values()))
        for k in range(5):
            c.clock.advance(1)
            c.engine.put_signal(replace(template, id=f"new-{k}", created_at=c.clock.now()))
        await c.settle()
        assert table.selected_key == chosen
        assert "5 new ↑" in screen_text(c.app)


async def test_headroom_is_the_trades_own_binding_limit_not_the_most_exposed_market() -> None:
    async with console(size=(160, 48)) as c:
        intent = c.engine.intents["int-0000"]
        # Another market is at its $15 cap; the trade's own market holds nothing yet.
        full = Position(
            token_id="other", condition_id="0xother", outcome="Yes", shares=Decimal(30),
            avg_price=Decimal("0.50"), cost_usd=Decimal(15), fees_usd=Decimal(0),
            end_time=SCENARIO_START + timedelta(days=2), market_question="Other market?",
        )  # fmt: skip
        c.engine.set_positions([full])
        c.engine.set_risk(
            RiskSnapshot(
                limits=(
                    LimitUse("total exposure", Decimal(15), Decimal(50)),
                    LimitUse("market exposure", Decimal(15), Decimal(15)),
                    LimitUse("daily loss", Decimal(0), Decimal(20)),
                )
            )
        )
        await c.settle()
        table = c.app.pane("approvals").table
        cells = dict(zip([col.key for col in table._columns], table.cells(intent.id), strict=True))
        # Own market: 15 - 0 - 6.90 cost - 0.025 fee = 8.075 (tighter than total's 28.075).
        assert intent.usd + intent.expected_fee_usd == Decimal("6.925")
        assert cells["headroom"] == "$8.08 mkt"


async def test_pnl_amounts_never_touch_the_next_label_or_wrap() -> None:
    clock_engine = build_scenario()
    big = Decimal("12345.67")
    clock_engine.pnl = replace(clock_engine.pnl, equity_usd=big, cash_usd=big)
    for size in ((120, 40), (160, 48), (220, 60), (80, 24)):
        async with console(size=size, engine=clock_engine) as c:
            if size[0] < 120:
                await c.press("shift+tab")  # P&L is the last tab
            text = screen_text(c.app)
            assert re.search(r"Equity +\$12,345\.67( |$)", text, re.M), size
            assert re.search(r"(^|│| )Cash +\$12,345\.67( |$)", text, re.M), size
            pnl = [line for line in text.splitlines() if "Equity" in line or "Realized" in line]
            cells = [re.split(r"[│┃]", line)[-2] for line in pnl]
            assert not any(re.search(r"\d[A-Za-z]", cell) for cell in cells), pnl


async def test_approvals_at_100_columns_keep_ttl_on_screen_without_a_scrollbar() -> None:
    async with console(size=(100, 30)) as c:
        await c.press("tab")
        table = c.app.pane("approvals").table
        header = next(line for line in screen_lines(c.app) if "Market" in line)
        assert "TTL" in header
        assert table.virtual_size.width <= table.scrollable_content_region.width
        assert "Shares" in header, "the size of the trade is never dropped"


async def test_duplicate_pending_trades_stay_marked_when_the_note_column_is_dropped() -> None:
    from polytui.clock import FakeClock
    from polytui.tui.fixtures import build_dense

    clock = FakeClock(SCENARIO_START)
    async with console(size=(120, 40), engine=build_dense(clock), clock=clock) as c:
        table = c.app.pane("approvals").table
        assert "note" not in table.column_keys  # 120 columns: the pane is too narrow for it
        markets = {
            key: dict(zip(table.column_keys, table.cells(key) or (), strict=True))["market"]
            for key in table.keys
        }
        # Two identical "Will Taylor Swift … BUY No" rows, told apart by their rank.
        ranks = sorted(m.rsplit(" ", 1)[-1] for m in markets.values() if m.startswith("Will Ta"))
        assert ranks == ["1/2", "2/2"], markets
