"""What each pane shows for the seeded scenario, and how it follows engine events."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from polytui.model import BookTop, FeedState, FeedStatus, SignalStatus
from polytui.tui import fmt
from polytui.tui.fixtures import ALIASES, SCENARIO_START, build_scenario
from polytui.tui.pnl import EquityChart
from polytui.tui.signals import SignalsPane
from polytui.tui.state import MAX_SIGNALS
from tests.tui.harness import console
from tests.tui.screen_text import screen_text


async def test_signals_are_newest_first() -> None:
    async with console() as c:
        keys = c.app.pane("signals").table.keys
        times = [c.app.state.signals[k].created_at for k in keys]
        assert times == sorted(times, reverse=True)
        assert len(keys) == len(c.engine.signals)


async def test_signal_row_shows_alias_prices_cluster_source_and_status() -> None:
    async with console() as c:
        table = c.app.pane("signals").table
        signal = next(s for s in c.engine.signals.values() if s.cluster_size == 3)
        cells = dict(zip([col.key for col in table._columns], table.cells(signal.id), strict=True))
        assert cells["wallet"] == f"{ALIASES.get(signal.wallets[0], '')} +2"
        assert cells["whale"] == f"{signal.whale_price:.3f}"
        assert cells["wallet"].endswith(" +2")
        assert cells["src"].endswith(f" {fmt.seconds(signal.latency_ms / 1000)}")
        assert cells["status"] == "filled"


async def test_selecting_a_signal_shows_its_status_reason() -> None:
    async with console() as c:
        pane = c.app.query_one(SignalsPane)
        keys = pane.table.keys
        rejected = next(k for k in keys if c.engine.signals[k].status is SignalStatus.REJECTED)
        pane.table.move_cursor(row=keys.index(rejected))
        await c.settle()
        assert "rejected: risk: market exposure 15.00 reached" in screen_text(c.app)


async def test_signal_status_change_updates_only_that_row() -> None:
    async with console() as c:
        signal = c.engine.signals["sig-0005"]
        c.engine.put_signal(replace(signal, status=SignalStatus.EXPIRED, reason="too late"))
        await c.settle()
        table = c.app.pane("signals").table
        assert table.cells("sig-0005")[-1] == "expired"
        assert table.updates == 1, "one cell changed, one cell written"
        assert table.row_class("sig-0005") == "muted"


async def test_signals_table_is_bounded() -> None:
    async with console(size=(120, 40)) as c:
        base = c.engine.signals["sig-0000"]
        for n in range(MAX_SIGNALS + 40):
            at = SCENARIO_START + timedelta(seconds=n)
            c.engine.put_signal(replace(base, id=f"flood-{n:05d}", created_at=at))
        await c.settle()
        keys = c.app.pane("signals").table.keys
        assert len(keys) == MAX_SIGNALS
        assert keys[0] == f"flood-{MAX_SIGNALS + 39:05d}"
        assert c.app.state.dropped_signals == 56


async def test_book_update_moves_the_current_price_column() -> None:
    async with console() as c:
        signal = c.engine.signals["sig-0004"]
        top = BookTop(
            signal.token_id, Decimal("0.60"), Decimal("0.62"), Decimal(1), Decimal(1), False
        )
        from polytui import events as ev

        c.engine.bus.publish(ev.BookChanged(top))
        await c.settle()
        cells = c.app.pane("signals").table.cells(signal.id)
        assert "0.610" in cells


async def test_approvals_show_fill_fee_slippage_headroom_and_ttl() -> None:
    async with console(size=(220, 60)) as c:
        table = c.app.pane("approvals").table
        intent = c.engine.intents["int-0000"]
        cells = dict(zip([col.key for col in table._columns], table.cells(intent.id), strict=True))
        assert cells["fill"] == f"{intent.sized_price:.3f}"
        assert cells["fee"] == "$0.02"  # 10 shares × 0.0025, half-even
        assert cells["slip"] == "+1.0¢"
        # Nothing is held in this market (15 of room); total exposure 38.40 / 50 leaves
        # 11.60, the tighter one: 11.60 - 6.90 cost - 0.025 fee = 4.675.
        assert intent.usd == Decimal("6.90")
        assert cells["headroom"] == "$4.68 tot"
        assert cells["ttl"] == "12s"


async def test_approval_ttl_counts_down_and_expires() -> None:
    async with console() as c:
        table = c.app.pane("approvals").table
        c.clock.advance(8)
        c.app.tick()
        await c.settle()
        assert table.cells("int-0000")[-1] == "4s"
        assert table.row_class("int-0000") == "urgent"
        c.clock.advance(5)
        c.app.tick()
        await c.settle()
        assert table.cells("int-0000")[-1] == "expired"
        await c.press("a")  # cursor is on the expired row; its price is stale
        assert c.engine.commands == []
        assert any("expired" in t for t in c.toasts())
        c.engine.expire_due()
        await c.settle()
        assert "int-0000" not in table.keys


async def test_expected_fill_follows_the_live_book() -> None:
    from polytui import events as ev

    async with console(size=(220, 60)) as c:
        intent = c.engine.intents["int-0001"]
        top = BookTop(
            intent.token_id, Decimal("0.49"), Decimal("0.52"), Decimal(9), Decimal(9), False
        )
        c.engine.bus.publish(ev.BookChanged(top))
        await c.settle()
        cells = c.app.pane("approvals").table.cells(intent.id)
        assert "0.520" in cells
        assert "+5.0¢" in cells  # 0.52 vs the whale's 0.47


async def test_positions_sorted_by_resolution_soonest_first() -> None:
    async with console() as c:
        keys = c.app.pane("positions").table.keys
        ends = [next(p for p in c.engine.positions if p.token_id == k).end_time for k in keys]
        assert ends == sorted(ends)
        # Published out of order, still shown soonest first.
        c.engine.set_positions(list(reversed(c.engine.positions)))
        await c.settle()
        assert c.app.pane("positions").table.keys == keys


async def test_positions_under_24h_are_highlighted_and_under_1h_urgent() -> None:
    async with console() as c:
        table = c.app.pane("positions").table
        by_left = {}
        for position in c.engine.positions:
            left = (position.end_time - SCENARIO_START).total_seconds()
            by_left[left] = table.row_class(position.token_id)
        assert by_left[30 * 60] == "urgent"
        assert by_left[5 * 3600] == "soon"
        assert by_left[20 * 3600] == "soon"
        assert by_left[(3 * 24 + 4) * 3600] == ""
        assert by_left[-25 * 60] == "muted"


async def test_position_past_its_end_shows_awaiting_resolution() -> None:
    async with console(size=(160, 48)) as c:
        text = screen_text(c.app)
        assert "awaiting" in text
        assert "30m 00s" in text


async def test_position_turns_urgent_as_time_passes() -> None:
    async with console() as c:
        table = c.app.pane("positions").table
        five_hours = next(
            p for p in c.engine.positions if p.end_time == SCENARIO_START + timedelta(hours=5)
        )
        assert table.row_class(five_hours.token_id) == "soon"
        c.clock.advance(4.5 * 3600)
        c.app.tick()
        await c.settle()
        assert table.row_class(five_hours.token_id) == "urgent"


async def test_pnl_pane_shows_totals_and_win_rate() -> None:
    async with console() as c:
        pane = c.app.pane("pnl")
        assert pane.value_text("realized") == "+$3.85"
        assert pane.value_text("today") == "-$1.42"
        assert pane.value_text("fees") == "$0.61"
        assert pane.value_text("winrate") == "64%"
        assert pane.border_subtitle == "7W / 4L"
        assert pane.value_text("tax") == "+1.3¢"
        assert pane.value_style("today") == "loss"
        assert pane.value_style("realized") == "gain"
        chart = pane.query_one(EquityChart)
        assert len(chart.points) == 91, "90 samples plus the current equity"
        assert chart.points[-1] == c.engine.pnl.equity_usd


async def test_health_pane_marks_stale_feeds() -> None:
    async with console() as c:
        table = c.app.pane("health").table
        assert table.row_class("chain") == "stale"
        assert table.row_class("clob") == ""
        assert c.app.pane("health").has_class("stale")
        old = FeedStatus("clob", FeedState.LIVE, True, 31.0, 48_300, 3, 1, 2, 41.0, 0.0)
        c.engine.set_feeds((old,))
        await c.settle()
        assert table.keys == ["clob"]
        assert table.row_class("clob") == "stale", "live but silent for 31 s is stale"


async def test_risk_pane_shows_bars_and_flags() -> None:
    async with console(size=(160, 48)) as c:
        table = c.app.pane("risk").table
        cells = table.cells("total exposure")
        assert cells[0] == "total exposure" and cells[-1] == "$38.40 / $50.00"
        assert cells[1].startswith("█") and set(cells[1]) == {"█", "░"}
        assert table.row_class("market exposure") == "urgent"
        assert table.row_class("daily loss") == ""
        c.engine.set_state(halted=True, halt_reason="daily loss 20.00 reached")
        await c.settle()
        text = screen_text(c.app)
        assert "HALTED (daily loss 20.00 reached)" in text
        assert c.app.pane("risk").has_class("halted")


async def test_header_shows_mode_balance_equity_today_and_clock() -> None:
    async with console() as c:
        first_line = screen_text(c.app).splitlines()[0]
        for part in (
            "PAPER",
            "bal $61.60",
            "eq $106.50",
            "today -$1.42",
            "RUNNING",
            "12:00:00 UTC",
        ):
            assert part in first_line


async def test_live_mode_badge_is_red_classed() -> None:
    from polytui.clock import FakeClock

    clock = FakeClock(SCENARIO_START)
    async with console(engine=build_scenario(clock, mode="live"), clock=clock) as c:
        badge = c.app.query_one("#mode")
        assert "LIVE" in screen_text(c.app).splitlines()[0]
        assert badge.has_class("live-mode")
        assert c.app.query_one("StatusBar").has_class("live-mode")


async def test_demo_badge() -> None:
    from polytui.clock import FakeClock

    clock = FakeClock(SCENARIO_START)
    async with console(engine=build_scenario(clock, demo=True), clock=clock) as c:
        assert "DEMO" in screen_text(c.app).splitlines()[0]


async def test_header_clock_follows_the_injected_clock() -> None:
    async with console() as c:
        c.clock.advance(65)
        c.app.tick()
        await c.settle()
        assert "12:01:05 UTC" in screen_text(c.app).splitlines()[0]


async def test_warning_notice_becomes_a_toast_and_a_log_line() -> None:
    async with console(size=(160, 48)) as c:
        c.engine.notice("warn", "chain feed silent for 47 s")
        await c.settle()
        assert "chain feed silent for 47 s" in c.toasts()
        assert "chain feed silent for 47 s" in screen_text(c.app)


async def test_compact_layout_shows_one_pane_with_tabs() -> None:
    async with console(size=(80, 24)) as c:
        text = screen_text(c.app)
        assert "Approvals (3)" in text.splitlines()[1]
        assert "Whale signals" in text
        assert not c.app.pane("positions").display or not c.app.pane("positions").region
        await c.press("tab", "tab")
        text = screen_text(c.app)
        assert "awaiting" in text
        assert "Outcome" in text, "what a position is: never the column that goes"


async def test_no_color_still_shows_states_as_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    async with console(size=(80, 24)) as c:
        await c.press("p")
        header = screen_text(c.app).splitlines()[0]
        assert "PAPER" in header and "PAUSED" in header


async def test_narrow_but_tall_shows_the_signals_above_the_active_pane() -> None:
    async with console(size=(110, 40)) as c:
        await c.press("tab")
        text = screen_text(c.app)
        assert "Whale signals" in text and "▶ Approvals" in text
        assert "Shares" in text and "TTL" in text


async def test_a_60_column_terminal_keeps_the_engine_state_and_every_tab() -> None:
    async with console(size=(60, 20)) as c:
        lines = screen_text(c.app).splitlines()
        assert "RUNNING" in lines[0] and "UTC" in lines[0]
        assert "Risk" in lines[1] and "P&L" in lines[1]
        assert "? Help" in lines[-1]
