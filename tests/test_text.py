"""Feed text (market questions, outcomes, trade titles) and config aliases reach a terminal
without escape sequences or control characters: cleaned once, where they are parsed."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from polytui.feeds.activity import trade_from_rtds
from polytui.feeds.gamma import market_from_gamma
from polytui.text import clean_text
from tests.conftest import load_sample

HOSTILE = [
    ("\x1b[2J\x1b[HWill it rain?", "Will it rain?"),  # clear screen, cursor home
    ("\x1b]0;pwned\x07Yes", "Yes"),  # OSC: set the terminal title
    ("\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\", "click"),  # OSC 8 hyperlink
    ("Trump\u202eniw lliw", "Trumpniw lliw"),  # right-to-left override
    ("line\none\r\ttwo", "line one two"),
    ("bell\x07 and \x9b31m C1 CSI", "bell and C1 CSI"),
    ("plain text — with ünïcode 🙂", "plain text — with ünïcode 🙂"),
]


@pytest.mark.parametrize(("raw", "clean"), HOSTILE)
def test_clean_text_removes_escapes_and_controls(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean
    assert clean_text(clean) == clean


def test_gamma_question_outcomes_and_tags_are_cleaned() -> None:
    record = dict(
        load_sample("gamma_market_sports_negrisk_fees.live_capture_trimmed.json")["market"]
    )
    record["question"] = "\x1b[31mWill it?\x1b[0m"
    names = json.loads(record["outcomes"])
    record["outcomes"] = json.dumps(["\x1b]0;x\x07" + names[0], *names[1:]])
    market = market_from_gamma(record)
    assert market.question == "Will it?"
    assert market.outcomes[0].name == names[0]


def test_rtds_title_and_outcome_are_cleaned() -> None:
    row = dict(load_sample("data_api_trades.live_capture.json")["trades_by_market"][0])
    row["title"] = "\x1b[2JWill it?"
    row["outcome"] = "Yes\x1b[5m"
    stamp = datetime.fromtimestamp(float(row["timestamp"]), UTC)
    trade = trade_from_rtds(row, stamp)
    assert (trade.title, trade.outcome) == ("Will it?", "Yes")
