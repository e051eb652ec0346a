"""The approval dialog's "second opinion" line: the advisors' consensus, once there is one."""

from __future__ import annotations

from decimal import Decimal as D

from polytui.clock import FakeClock
from polytui.tui.details import intent_lines
from polytui.tui.state import ConsoleState
from tests.strategy.test_reconsider import pending
from tests.strategy.test_rules import view


def test_the_approval_dialog_shows_the_consensus_once_there_is_one(clock: FakeClock) -> None:
    strat, intent = pending(clock)
    assert "second opinion" not in dict(intent_lines(intent, ConsoleState(), clock.now()))
    out = strat.reconsider(intent.id, lambda p: p - D("0.05"), "advisors: p 0.40", view(clock))
    assert out.intent is not None
    lines = dict(intent_lines(out.intent, ConsoleState(), clock.now()))
    assert lines["second opinion"] == out.intent.advice
