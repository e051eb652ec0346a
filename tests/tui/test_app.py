"""The app hosts the engine: workers, the event pump, failure reporting and clean shutdown."""

from __future__ import annotations

import asyncio

from polytui.clock import FakeClock
from polytui.model import SignalStatus
from polytui.tui.fixtures import SCENARIO_START, build_scenario
from polytui.tui.state import ConsoleState
from tests.tui.harness import make_app
from tests.tui.screen_text import screen_text


async def test_engine_runs_as_a_feeds_worker_and_is_cancelled_on_quit() -> None:
    clock = FakeClock(SCENARIO_START)
    engine = build_scenario(clock)
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def run_engine() -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    app = make_app(engine, clock)
    app.run_engine = run_engine
    async with app.run_test(size=(120, 40)) as pilot:
        await asyncio.wait_for(started.wait(), 5)
        feeds = [w for w in app.workers if w.group == "feeds"]
        assert [w.name for w in feeds] == ["engine"]
        await pilot.press("q")
        await asyncio.wait_for(cancelled.wait(), 5)


async def test_a_failing_engine_worker_becomes_a_toast_and_a_log_line() -> None:
    clock = FakeClock(SCENARIO_START)

    async def run_engine() -> None:
        raise RuntimeError("feed loop crashed")

    app = make_app(build_scenario(clock), clock)
    app.run_engine = run_engine
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(50):  # the worker fails after the first frame; wait for its toast
            await pilot.pause(0.05)
            messages = [n.message for n in app._notifications]
            if any("engine stopped" in m for m in messages):
                break
        assert any("engine stopped" in m and "feed loop crashed" in m for m in messages)
        assert "feed loop crashed" in screen_text(app)
        assert app.is_running, "a dead engine worker must not take the console down"


async def test_events_reach_the_panes_without_manual_pumping() -> None:
    clock = FakeClock(SCENARIO_START)
    engine = build_scenario(clock)
    app = make_app(engine, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        from dataclasses import replace

        signal = engine.signals["sig-0001"]
        engine.put_signal(replace(signal, status=SignalStatus.FILLED, reason="filled"))
        for _ in range(50):
            await pilot.pause(0.05)
            if app.pane("signals").table.cells(signal.id)[-1] == "filled":
                break
        assert app.pane("signals").table.cells(signal.id)[-1] == "filled"


async def test_pump_batches_a_flood_into_few_redraws() -> None:
    clock = FakeClock(SCENARIO_START)
    engine = build_scenario(clock)
    app = make_app(engine, clock)
    redraws = 0
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.pane("positions")
        original = pane.refresh_view

        def counting(state: ConsoleState, now: object) -> None:
            nonlocal redraws
            redraws += 1
            original(state, now)  # type: ignore[arg-type]

        pane.refresh_view = counting  # type: ignore[method-assign]
        for _ in range(1000):
            engine.set_positions(engine.positions)
        await pilot.pause(0.35)
    # 1,000 "positions" events coalesce on their key; at most ~10 redraws a second.
    assert 1 <= redraws <= 5


async def test_quit_asks_a_hosted_engine_to_stop_before_exiting() -> None:
    clock = FakeClock(SCENARIO_START)
    engine = build_scenario(clock)
    stopping = asyncio.Event()
    finished_cleanly = asyncio.Event()

    async def stop() -> None:
        stopping.set()

    async def run_engine() -> None:
        await stopping.wait()
        finished_cleanly.set()  # e.g. in-flight fills done, journal flushed

    engine.stop = stop  # type: ignore[attr-defined]
    app = make_app(engine, clock)
    app.run_engine = run_engine
    async with app.run_test(size=(120, 40)) as pilot:
        # The engine starts once the first frame is painted.
        while not any(w.name == "engine" and w.is_running for w in app.workers):
            await pilot.pause(0.01)
        await pilot.press("q")
        await asyncio.wait_for(finished_cleanly.wait(), 5)
        await pilot.pause(0.1)
        assert not app.is_running
