"""The simulator the live-broker tests trade against: the demo scenario, seed 7, at 3× speed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from polytui.sim.server import SimServer


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    async with SimServer("demo", seed=7, speed=3) as server:
        yield server
