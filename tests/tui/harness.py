"""Builds the console on the seeded scenario with a frozen clock, and helpers to drive it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from textual.pilot import Pilot

from polytui.clock import FakeClock
from polytui.tui.app import PolytuiApp
from polytui.tui.fake import FakeEngine
from polytui.tui.fixtures import ALIASES, SCENARIO_START, build_scenario


@dataclass
class Console:
    """A running console, its engine, its clock and its pilot."""

    app: PolytuiApp
    engine: FakeEngine
    clock: FakeClock
    pilot: Pilot[int]

    async def settle(self) -> None:
        """Let commands finish, apply what the engine published, and repaint."""
        commands = [w for w in self.app.workers if w.group == "commands"]
        if commands:
            await self.app.workers.wait_for_complete(commands)
        self.app.pump_now()
        await self.pilot.pause()

    async def press(self, *keys: str) -> None:
        """Press keys and settle."""
        await self.pilot.press(*keys)
        await self.settle()

    def arm(self) -> None:
        """Let the approval arm delay pass."""
        self.clock.advance(0.31)

    def toasts(self) -> list[str]:
        """Messages of every notification shown so far."""
        return [n.message for n in self.app._notifications]


def make_app(engine: FakeEngine, clock: FakeClock, whales: Any = None) -> PolytuiApp:
    """The console over ``engine`` with a frozen clock and no background tick."""
    return PolytuiApp(engine, clock=clock, aliases=ALIASES, tick_s=3600, whales=whales)


@asynccontextmanager
async def console(
    size: tuple[int, int] = (120, 40),
    engine: FakeEngine | None = None,
    clock: FakeClock | None = None,
    whales: Any = None,
) -> AsyncIterator[Console]:
    """Run the console on the seeded scenario (or ``engine``) at ``size``; ``whales`` is the
    Whales screen's backend."""
    clock = clock or FakeClock(SCENARIO_START)
    engine = engine or build_scenario(clock)
    app = make_app(engine, clock, whales)
    async with app.run_test(size=size) as pilot:
        c = Console(app, engine, clock, pilot)
        await c.settle()
        yield c
