"""Layout snapshots of the dense seeded scenario with a frozen clock, at every size the console
is laid out for, plus the approval dialog, the kill dialog and help.

Regenerate after an intended change with ``pytest tests/tui/test_snapshots.py --snapshot-update``
and review the SVGs under ``tests/tui/__snapshots__``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from polytui.clock import FakeClock
from polytui.tui.fixtures import SCENARIO_START, build_dense
from polytui.tui.screenshots import SIZES
from tests.tui.harness import make_app


@pytest.fixture(autouse=True)
def _colour(monkeypatch: pytest.MonkeyPatch) -> None:
    # The snapshots are of the coloured console; NO_COLOR in the caller's shell must not
    # change them.
    monkeypatch.delenv("NO_COLOR", raising=False)


async def settled(pilot: Pilot[Any]) -> None:
    await pilot.pause()
    pilot.app.pump_now()  # type: ignore[attr-defined]
    await pilot.pause()


def pressing(*keys: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run(pilot: Pilot[Any]) -> None:
        await settled(pilot)
        await pilot.press(*keys)
        await settled(pilot)

    return run


def dense_app() -> Any:
    clock = FakeClock(SCENARIO_START)
    return make_app(build_dense(clock), clock)


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_main_screen(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(dense_app(), terminal_size=size, run_before=settled)


def test_approval_dialog(snap_compare: Any) -> None:
    assert snap_compare(dense_app(), terminal_size=(120, 40), run_before=pressing("tab", "enter"))


def test_approval_dialog_at_80x24(snap_compare: Any) -> None:
    assert snap_compare(dense_app(), terminal_size=(80, 24), run_before=pressing("tab", "enter"))


def test_kill_dialog(snap_compare: Any) -> None:
    assert snap_compare(dense_app(), terminal_size=(120, 40), run_before=pressing("K"))


def test_help_screen(snap_compare: Any) -> None:
    assert snap_compare(dense_app(), terminal_size=(120, 40), run_before=pressing("question_mark"))
