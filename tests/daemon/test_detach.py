"""Quitting an attached console only detaches: no live-orders question, nothing stopped."""

from __future__ import annotations

from polytui.clock import FakeClock
from polytui.tui.app import PolytuiApp
from polytui.tui.fixtures import ALIASES, SCENARIO_START, build_scenario
from polytui.tui.modals import ConfirmModal


async def test_q_on_an_attached_console_detaches_without_asking_even_with_live_orders() -> None:
    clock = FakeClock(SCENARIO_START)
    engine = build_scenario(clock, mode="live")
    connected: list[bool] = []

    async def connect() -> None:
        connected.append(True)

    app = PolytuiApp(engine, connect=connect, clock=clock, aliases=ALIASES, tick_s=3600)
    async with app.run_test(size=(120, 40)) as pilot:
        assert connected == [True]
        clock.advance(0.31)
        await pilot.press("a")  # an approved, unfilled live order is now open
        commands = [w for w in app.workers if w.group == "commands"]
        if commands:  # an empty list would mean "every worker", the pump included
            await app.workers.wait_for_complete(commands)
        app.pump_now()
        assert app.state.live_orders_open
        await pilot.press("q")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmModal)
        assert not app.is_running
    assert "kill" not in engine.command_names()
