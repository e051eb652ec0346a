"""The simulator writes Decimal amounts as JSON numbers from their own digits, never via float."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from polytui.sim.wire import dumps


def test_decimals_are_written_digit_for_digit() -> None:
    # 0.1 + 0.2 through a binary float would be written 0.30000000000000004.
    row = {"size": D("0.1") + D("0.2"), "cost": D("1E+2"), "fee": D("-0.000001"), 7: "key"}
    assert dumps(row) == '{"size":0.3,"cost":100,"fee":-0.000001,"7":"key"}'


@pytest.mark.parametrize("value", [D("NaN"), D("Infinity"), object()])
def test_values_json_cannot_carry_are_refused(value: object) -> None:
    with pytest.raises(TypeError):
        dumps({"x": value})
