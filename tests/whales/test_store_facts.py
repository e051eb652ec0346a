"""Saved market facts keep a fractional fee exponent exactly (Gamma and the CLOB can send 1.5)."""

from __future__ import annotations

import json
from decimal import Decimal

from polytui.model import FeeSchedule
from polytui.whales.store import MarketFacts, _facts, _facts_record


def test_a_fractional_fee_exponent_survives_a_save_and_a_load() -> None:
    for exponent in (Decimal("1.5"), 2):
        fee = FeeSchedule(rate=Decimal("0.072"), exponent=exponent, taker_only=True)
        facts = MarketFacts("0xc", "sports", fee, 1_800_000_000_000)
        loaded = _facts(json.loads(json.dumps(_facts_record(facts))))
        assert loaded.fee_schedule is not None
        assert loaded.fee_schedule.exponent == exponent
        assert type(loaded.fee_schedule.exponent) is type(exponent)
    old = {"c": "0xc", "fee": {"rate": "0.02", "exp": 1, "taker_only": True, "type": ""}}
    assert _facts(old).fee_schedule.exponent == 1  # type: ignore[union-attr]
