"""ConsoleState folds engine events into what the panes draw (no Textual involved)."""

from __future__ import annotations

from dataclasses import replace

from polytui import events as ev
from polytui.clock import FakeClock
from polytui.model import IntentStatus
from polytui.tui.fixtures import SCENARIO_START, build_scenario
from polytui.tui.state import ConsoleState


def loaded() -> tuple[ConsoleState, object]:
    engine = build_scenario(FakeClock(SCENARIO_START))
    state = ConsoleState(max_signals=10)
    state.load(engine.snapshot())
    return state, engine


def test_load_keeps_only_the_newest_signals_within_the_bound() -> None:
    state, _ = loaded()
    assert len(state.signals) == 10
    assert list(state.signals)[-1] == "sig-0015"
    assert state.dropped_signals == 6


def test_new_pending_intent_is_reported_once() -> None:
    state, engine = loaded()
    intent = next(iter(engine.intents.values()))
    fresh = replace(intent, id="int-fresh")
    first = state.apply([ev.IntentUpdated(fresh)])
    again = state.apply([ev.IntentUpdated(fresh)])
    assert first.new_intents == ["int-fresh"]
    assert again.new_intents == []


def test_decided_intent_leaves_the_queue() -> None:
    state, engine = loaded()
    intent = next(iter(engine.intents.values()))
    changes = state.apply([ev.IntentUpdated(replace(intent, status=IntentStatus.REJECTED))])
    assert intent.id not in state.intents
    assert state.decided[intent.id].status is IntentStatus.REJECTED
    assert changes.dirty == {"approvals"}


def test_only_touched_panes_are_dirty() -> None:
    state, engine = loaded()
    changes = state.apply([ev.FeedStatusChanged(engine.feeds)])
    assert changes.dirty == {"health"}
    changes = state.apply([ev.PnLChanged(engine.pnl)])
    assert changes.dirty == {"pnl", "header"}


def test_live_orders_open_only_in_live_mode_with_approved_intents() -> None:
    state, engine = loaded()
    intent = next(iter(engine.intents.values()))
    state.apply([ev.IntentUpdated(replace(intent, status=IntentStatus.APPROVED))])
    assert not state.live_orders_open
    state.apply([ev.EngineStateChanged(replace(state.engine, mode="live"))])
    assert state.live_orders_open
    state.apply([ev.IntentUpdated(replace(intent, status=IntentStatus.FILLED))])
    assert not state.live_orders_open
