"""Layout snapshots of the seeded scenario with a frozen clock (80×24 compact and 160×48).

Regenerate after an intended change with ``pytest tests/tui/test_snapshots.py --snapshot-update``
and review the SVGs under ``tests/tui/__snapshots__``.
"""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from polytui.clock import FakeClock
from polytui.tui.fixtures import SCENARIO_START, build_scenario
from tests.tui.harness import make_app


async def settled(pilot: Pilot[Any]) -> None:
    await pilot.pause()
    pilot.app.pump_now()  # type: ignore[attr-defined]
    await pilot.pause()


def fresh_app() -> Any:
    clock = FakeClock(SCENARIO_START)
    return make_app(build_scenario(clock), clock)


def test_console_at_80x24_is_compact(snap_compare: Any) -> None:
    assert snap_compare(fresh_app(), terminal_size=(80, 24), run_before=settled)


def test_console_at_160x48_shows_every_pane(snap_compare: Any) -> None:
    assert snap_compare(fresh_app(), terminal_size=(160, 48), run_before=settled)


def test_approval_dialog_at_80x24(snap_compare: Any) -> None:
    async def open_dialog(pilot: Pilot[Any]) -> None:
        await settled(pilot)
        await pilot.press("tab", "enter")
        await pilot.pause()

    assert snap_compare(fresh_app(), terminal_size=(80, 24), run_before=open_dialog)
