"""Every console key, driven through the pilot, with its effect on the (fake) engine."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from polytui.model import IntentStatus
from polytui.tui.fixtures import WALLETS
from polytui.tui.modals import ApprovalDialog, ConfirmModal, DetailModal, HelpScreen
from polytui.tui.signals import SignalsPane
from tests.tui.harness import Console, console
from tests.tui.screen_text import screen_text


async def test_p_pauses_then_resumes_through_the_engine() -> None:
    async with console() as c:
        await c.press("p")
        assert c.engine.command_names() == ["pause"]
        assert "PAUSED" in screen_text(c.app)
        assert "new entries paused" in c.toasts()
        await c.press("p")
        assert c.engine.command_names() == ["pause", "resume"]
        assert "RUNNING" in screen_text(c.app)


async def test_a_approves_the_selected_pending_trade() -> None:
    async with console() as c:
        c.arm()
        first = c.app.pane("approvals").selected_key()
        await c.press("a")
        assert c.engine.commands == [("approve", {"intent_id": first})]
        assert c.engine.intents[first].status is IntentStatus.APPROVED
        assert first not in (c.app.pane("approvals").table.keys)
        intent = c.engine.intents[first]
        market = intent.market_question[:20]
        assert any(t.startswith("approved 10.00 shares") and market in t for t in c.toasts())


async def test_a_size_cut_by_a_limit_is_announced_with_the_limit() -> None:
    async with console() as c:
        c.arm()
        first = c.app.pane("approvals").selected_key()
        intent = c.engine.intents[first]

        c.engine.share_cap = (Decimal(4), "max_market_exposure_usd")
        await c.press("a")
        toast = c.toasts()[-1]
        assert toast.startswith(f"approved 4.00 of {intent.shares:.2f} shares")
        assert "(market exposure $15.00 cap)" in toast


async def test_a_within_arm_delay_of_a_new_prompt_is_ignored() -> None:
    async with console() as c:
        c.clock.advance(0.29)
        await c.press("a")
        assert c.engine.commands == []
        assert any("ignored" in t for t in c.toasts())
        c.clock.advance(0.02)
        await c.press("a")
        assert c.engine.command_names() == ["approve"]


async def test_a_new_pending_trade_rearms_the_delay() -> None:
    async with console() as c:
        c.arm()
        intent = next(iter(c.engine.intents.values()))
        from dataclasses import replace
        from datetime import timedelta

        c.engine.put_intent(
            replace(intent, id="int-new", expires_at=intent.expires_at + timedelta(seconds=60))
        )
        await c.settle()
        await c.press("a")
        assert c.engine.commands == []
        c.arm()
        await c.press("a")
        assert c.engine.command_names() == ["approve"]


async def test_a_with_nothing_pending_only_toasts() -> None:
    async with console() as c:
        for intent_id in list(c.engine.intents):
            await c.engine.command("reject", intent_id=intent_id)
        c.engine.commands.clear()
        await c.settle()
        c.arm()
        await c.press("a")
        assert c.engine.commands == []
        assert "no pending trade selected" in c.toasts()


async def test_x_rejects_the_selected_pending_trade() -> None:
    async with console() as c:
        first = c.app.pane("approvals").selected_key()
        await c.press("x")
        assert c.engine.commands == [("reject", {"intent_id": first})]
        assert c.engine.intents[first].status is IntentStatus.REJECTED


async def test_enter_on_a_pending_trade_opens_the_dialog_and_y_approves() -> None:
    async with console() as c:
        await c.press("tab")
        assert c.app.active_pane == "approvals"
        first = c.app.pane("approvals").selected_key()
        await c.press("enter")
        assert isinstance(c.app.screen, ApprovalDialog)
        assert "expected fill" in screen_text(c.app)
        await c.press("y")
        assert isinstance(c.app.screen, ApprovalDialog), "y right after opening must not approve"
        assert c.engine.commands == []
        c.arm()
        await c.press("y")
        assert not isinstance(c.app.screen, ApprovalDialog)
        assert c.engine.commands == [("approve", {"intent_id": first})]


async def test_dialog_n_rejects_and_escape_only_closes() -> None:
    async with console() as c:
        await c.press("tab")
        keys = c.app.pane("approvals").table.keys
        await c.press("enter", "escape")
        assert not isinstance(c.app.screen, ApprovalDialog)
        assert c.engine.commands == [], "backing out of the dialog decides nothing"
        assert keys[0] in c.app.state.intents
        await c.press("enter", "n")
        assert c.engine.commands == [("reject", {"intent_id": keys[0]})]


async def test_enter_on_a_signal_shows_its_detail_with_the_reason() -> None:
    async with console() as c:
        await c.press("enter")
        assert isinstance(c.app.screen, DetailModal)
        assert "waiting for approval" in screen_text(c.app)
        await c.press("escape")
        assert not isinstance(c.app.screen, DetailModal)


async def test_shift_k_asks_then_kills() -> None:
    async with console() as c:
        await c.press("K")
        assert isinstance(c.app.screen, ConfirmModal)
        assert c.engine.commands == []
        await c.press("y")
        assert c.engine.command_names() == ["kill"]
        assert "KILLED" in screen_text(c.app)
        assert not c.app.state.intents, "the kill switch rejected every pending trade"


async def test_kill_cancelled_sends_nothing() -> None:
    async with console() as c:
        await c.press("K", "n")
        await c.press("K", "escape")
        assert c.engine.commands == []
        assert "kill cancelled" in c.toasts()


async def test_c_closes_the_selected_position_after_confirm() -> None:
    async with console() as c:
        await c.press("tab", "tab")
        assert c.app.active_pane == "positions"
        token = c.app.pane("positions").selected_key()
        await c.press("c")
        assert isinstance(c.app.screen, ConfirmModal)
        await c.press("y")
        assert c.engine.commands == [("close_position", {"token_id": token})]
        assert token not in c.app.pane("positions").table.keys


async def test_tab_and_shift_tab_cycle_the_panes() -> None:
    async with console() as c:
        seen = [c.app.active_pane]
        for _ in range(6):
            await c.press("tab")
            seen.append(c.app.active_pane)
        assert seen == ["signals", "approvals", "positions", "health", "risk", "pnl", "signals"]
        await c.press("shift+tab")
        assert c.app.active_pane == "pnl"
        assert c.app.pane("pnl").has_class("-active")


async def test_slash_filters_signals_and_escape_clears() -> None:
    async with console() as c:
        pane = c.app.query_one(SignalsPane)
        total = len(pane.table.keys)
        await c.press("slash")
        await c.pilot.press(*"fedwatcher")
        await c.settle()
        keys = pane.table.keys
        assert 0 < len(keys) < total
        assert all(WALLETS[2] in c.app.state.signals[k].wallets for k in keys)
        await c.press("enter")
        assert len(pane.table.keys) == len(keys), "enter keeps the filter"
        await c.press("slash", "escape")
        assert len(pane.table.keys) == total


async def test_question_mark_opens_help_listing_every_key() -> None:
    async with console() as c:
        await c.press("question_mark")
        assert isinstance(c.app.screen, HelpScreen)
        text = screen_text(c.app)
        for word in ("Pause", "Approve", "Reject", "Kill", "Close", "Filter", "Quit", "enter"):
            assert word in text
        await c.press("escape")
        assert not isinstance(c.app.screen, HelpScreen)


async def test_q_quits_at_once_in_paper_mode() -> None:
    async with console() as c:
        await c.pilot.press("q")
        await c.pilot.pause()
        assert c.app.return_code == 0
        assert not c.app.is_running


async def test_q_asks_first_while_live_orders_are_open() -> None:
    from polytui.clock import FakeClock
    from polytui.tui.fixtures import SCENARIO_START, build_scenario

    clock = FakeClock(SCENARIO_START)
    engine = build_scenario(clock, mode="live")
    async with console(engine=engine, clock=clock) as c:
        c.arm()
        await c.press("a")  # an approved, unfilled live order is now open
        await c.press("q")
        assert isinstance(c.app.screen, ConfirmModal)
        await c.press("n")
        assert c.app.is_running
        await c.pilot.press("q", "y")
        await c.pilot.pause()
        assert not c.app.is_running


async def test_command_palette_lists_every_console_action() -> None:
    async with console() as c:
        names = [name for name, _, _ in c.app.palette_commands()]
        for action in ("Pause", "Approve", "Reject", "Kill", "Close", "Filter", "Help", "Quit"):
            assert any(n.startswith(action) for n in names)
        assert any(n.startswith("Detail") for n in names)
        await c.press("ctrl+p")
        await c.pilot.press(*"kill")
        await c.pilot.pause(0.3)
        assert "Kill (K)" in screen_text(c.app)


async def test_every_binding_has_an_id_and_a_tooltip() -> None:
    from textual.binding import Binding

    from polytui.tui.app import PolytuiApp

    for binding in PolytuiApp.BINDINGS:
        assert isinstance(binding, Binding)
        assert binding.id and binding.tooltip, binding.key


async def test_kill_dialog_says_until_restart_and_how_many_pending_it_rejects() -> None:
    async with console() as c:
        await c.press("K")
        text = screen_text(c.app)
        assert "until the engine restarts" in text
        assert "reject the 3 pending trades" in text
        assert "reset" not in text


async def test_c_under_the_kill_switch_refuses_before_asking() -> None:
    async with console() as c:
        c.engine.set_state(killed=True)
        await c.settle()
        await c.press("tab", "tab", "c")
        assert not isinstance(c.app.screen, ConfirmModal)
        assert any("kill switch is on" in t for t in c.toasts())
        assert c.engine.commands == []


async def footer_line(c: Console, wanted: str) -> str:
    """The footer's line once it shows ``wanted`` (the footer recomposes after a refresh)."""
    last = ""
    for _ in range(40):
        await c.pilot.pause(0.05)
        last = screen_text(c.app).splitlines()[-1]
        if wanted in last:
            break
    return last


async def test_p_reads_resume_in_the_footer_while_paused() -> None:
    async with console() as c:
        assert "Pause" in await footer_line(c, "Pause")
        await c.press("p")
        last = await footer_line(c, "Resume")
        assert "Resume" in last and "Pause" not in last, last
        await c.press("p")
        assert c.engine.command_names() == ["pause", "resume"]
        assert "Pause" in await footer_line(c, "Pause")


async def test_escape_closes_the_keys_side_panel() -> None:
    async with console() as c:
        c.app.action_show_help_panel()
        await c.settle()
        assert c.app.screen.query("HelpPanel")
        await c.press("escape")
        assert not c.app.screen.query("HelpPanel")
        # With the panel gone, esc is the pane's again: it clears a signal filter.
        await c.press("slash", *"eth", "enter")
        assert "/eth" in screen_text(c.app)
        await c.press("escape")
        assert "/eth" not in screen_text(c.app)


async def test_w_opens_the_whales_screen_and_its_keys_belong_to_it(tmp_path: Path) -> None:
    from polytui.config import load_settings
    from polytui.tui.whales import LocalWhales, WhalesScreen
    from tests.whales.test_commands import write_config

    backend = LocalWhales(load_settings(write_config(tmp_path)))
    async with console(whales=backend) as c:
        assert "w Whales" in await footer_line(c, "Whales")
        await c.press("w")
        assert isinstance(c.app.screen, WhalesScreen)
        assert "ranked by copy edge" in screen_text(c.app)
        # The console's keys do not reach the trades hidden under the screen.
        c.arm()
        await c.press("x", "p")
        assert c.engine.commands == []
        await c.press("escape")
        assert not isinstance(c.app.screen, WhalesScreen)
        await c.press("question_mark")
        assert "Whales" in screen_text(c.app)


async def test_whales_key_and_q_both_fit_the_80_column_footer() -> None:
    async with console(size=(80, 24)) as c:
        last = await footer_line(c, "Whales")
        assert "w Whales" in last and "q Quit" in last, last
