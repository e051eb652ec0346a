"""Events and snapshots survive the trip through JSON unchanged, money as decimal strings."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest

from polytui import codec
from polytui import events as ev
from polytui.clock import FakeClock
from polytui.model import BookTop, EngineState
from polytui.tui.fixtures import SCENARIO_START, build_scenario


@pytest.fixture
def snapshot() -> ev.Snapshot:
    return build_scenario(FakeClock(SCENARIO_START)).snapshot()


def roundtrip(event: ev.Event) -> ev.Event:
    line = codec.dumps(codec.encode_event(event))
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    message = orjson.loads(line)
    return codec.decode_event(message["event"], message["data"])


def test_snapshot_roundtrips_to_an_equal_snapshot(snapshot: ev.Snapshot) -> None:
    assert snapshot.signals and snapshot.intents and snapshot.positions
    data = orjson.loads(codec.dumps({"data": snapshot}))["data"]
    assert codec.decode_snapshot(data) == snapshot


def test_every_keyed_event_of_the_scenario_roundtrips(snapshot: ev.Snapshot) -> None:
    events: list[ev.Event] = [
        ev.SignalUpdated(snapshot.signals[0]),
        ev.IntentUpdated(snapshot.intents[0]),
        ev.PositionsChanged(snapshot.positions),
        ev.PnLChanged(snapshot.pnl),
        ev.FeedStatusChanged(snapshot.feeds),
        ev.RiskChanged(snapshot.risk),
        ev.EngineStateChanged(EngineState(mode="paper", paused=True)),
        ev.WhaleTradeSeen(snapshot.signals[0].trades[0]),
        ev.BookChanged(BookTop("123", Decimal("0.48"), None, Decimal(10), Decimal(0), False)),
        ev.Notice("warning", "feed down", fields={"feed": "clob"}),
        ev.MarketResolved("0xabc", "123", SCENARIO_START),
    ]
    for event in events:
        assert roundtrip(event) == event


def test_money_travels_as_decimal_strings_never_floats(snapshot: ev.Snapshot) -> None:
    data = orjson.loads(codec.dumps(codec.encode_event(ev.PnLChanged(snapshot.pnl))))["data"]["pnl"]
    assert isinstance(data["cash_usd"], str)
    assert Decimal(data["cash_usd"]) == snapshot.pnl.cash_usd


def test_unknown_event_names_and_bad_values_raise_codec_errors() -> None:
    with pytest.raises(codec.CodecError, match="unknown event"):
        codec.decode_event("Exploit", {})
    with pytest.raises(codec.CodecError, match="cash_usd"):
        codec.decode_event("PnLChanged", {"pnl": {"cash_usd": 1.5}})
    with pytest.raises(codec.CodecError, match="missing"):
        codec.decode_event("Notice", {"level": "info"})
