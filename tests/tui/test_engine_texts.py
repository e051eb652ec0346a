"""The console hosting the real engine on the simulator: what its log says about fills and
resolutions (the market, the outcome, shares, price and dollars, formatted as the tables)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from decimal import Decimal as D
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import RichLog

from polytui.config import LoadedConfig, apply_overrides
from polytui.engine import Engine
from polytui.settings import Settings
from polytui.sim.server import SimServer
from polytui.tui.app import PolytuiApp
from polytui.wiring import build_engine

FILL = re.compile(
    r"filled BUY \d+\.\d\d (Yes|No) @ 0\.\d{3} for \$\d+\.\d\d, fee \$\d+\.\d\d · Will .+\?$"
)
SETTLED = re.compile(
    r"resolved \(\w+\): Will .+\? — \d+\.\d\d (Yes|No) (won|lost), paid \$\d+\.\d\d; "
    r"realized [+-]\$\d+\.\d\d$"
)


def log_lines(app: PolytuiApp) -> list[str]:
    return [strip.text.rstrip() for strip in app.query_one("#log-lines", RichLog).lines]


async def wait_for(pilot: Pilot[int], check: Callable[[], bool], timeout_s: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await pilot.pause(0.2)


async def test_fill_and_resolution_lines_name_the_market_outcome_and_dollars(
    tmp_path: Path,
) -> None:
    # Was: "filled BUY 40.84 @ 0.620000 (fee 0.481095)" and "market 0xae764ac3… resolved: 1
    # settled" (no question, no outcome, no dollars).
    async with SimServer("demo", seed=7, speed=4) as sim:
        settings = apply_overrides(Settings(), sim.settings_overrides())
        settings.storage.data_dir = tmp_path
        settings.approval.policy = "auto"
        settings.strategy.prior_edge, settings.strategy.confidence_z = D("0.2"), D(0)
        settings.paper.starting_balance_usd = D(1000)
        settings.paper.latency_ms = 50
        engine = build_engine(LoadedConfig(settings, None))
        app = PolytuiApp(engine, run_engine=engine.run)
        # A toast lives 5 s; on a loaded machine the poll below can see the log line later than
        # that, and an expired toast is no longer listed. The check is that it was raised.
        app.NOTIFICATION_TIMEOUT = 120
        try:
            async with app.run_test(size=(200, 50)) as pilot:
                try:
                    await check_fill_and_resolution_lines(app, engine, pilot)
                finally:  # q stops the hosted engine, as a trader quits
                    await pilot.press("q")
                    for _ in range(75):
                        if not app.is_running:
                            break
                        await asyncio.sleep(0.2)
        finally:
            engine.journal.close()


async def check_fill_and_resolution_lines(
    app: PolytuiApp, engine: Engine, pilot: Pilot[int]
) -> None:
    await wait_for(pilot, lambda: any(" filled " in x for x in log_lines(app)), 60)
    fills = [x for x in log_lines(app) if " filled " in x]
    assert all(FILL.search(x) for x in fills), fills
    # The market's result arrives the way the CLOB feed delivers market_resolved.
    held = engine.portfolio.positions_by_resolution(engine.clock.now())[0]
    engine.inbox.submit_resolution(held.condition_id, held.token_id)
    await wait_for(pilot, lambda: any(" resolved " in x for x in log_lines(app)), 10)
    settled = [x for x in log_lines(app) if " resolved " in x]
    assert len(settled) == 1 and SETTLED.search(settled[0]), settled
    assert held.market_question in settled[0]
    assert f"{held.shares:,.2f} {held.outcome} won" in settled[0]
    toasts = [n.message for n in app._notifications]
    assert settled[0].split("settlement: ", 1)[1] in toasts
