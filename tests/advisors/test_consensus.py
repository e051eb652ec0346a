"""Consensus and the bound on the estimate (pure)."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from polytui.advisors.consensus import (
    Consensus,
    Opinion,
    bounded_estimate,
    consensus_of,
    weighted_median,
)
from tests.conftest import REPO


def op(p: str, conf: str = "1", weight: str = "1") -> Opinion:
    return Opinion("a", D(weight), D(p), D(conf), "r")


def test_weighted_median_halfway_on_an_exact_tie() -> None:
    assert weighted_median([(D("0.4"), D(1)), (D("0.6"), D(1))]) == D("0.5")


def test_zero_confidence_answers_carry_no_weight_and_no_spread() -> None:
    c = consensus_of([op("0.9", conf="0"), op("0.55")], asked=2)
    assert c.probability == D("0.55") and c.spread == D(0)


def test_nobody_answering_leaves_the_estimate_alone() -> None:
    empty = Consensus(asked=3, opinions=(), probability=None, spread=None)
    assert bounded_estimate(D("0.7"), empty, D("0.05"), D("0.25")) == D("0.7")


def test_disagreeing_advisors_move_nothing() -> None:
    c = consensus_of([op("0.2"), op("0.9")], asked=2)
    assert bounded_estimate(D("0.7"), c, D("0.05"), D("0.25")) == D("0.7")


def test_move_is_clamped_to_max_shift() -> None:
    c = consensus_of([op("0.40"), op("0.45")], asked=2)
    assert bounded_estimate(D("0.70"), c, D("0.05"), D("0.25")) == D("0.65")


probability = st.decimals(min_value=0, max_value=1, places=3)


@given(
    estimate=st.decimals(min_value=0, max_value=1, places=6),
    answers=st.lists(probability, min_size=0, max_size=6),
    shift=st.decimals(min_value=0, max_value=D("0.2"), places=3),
)
def test_estimate_never_moves_more_than_the_bound(estimate: D, answers: list[D], shift: D) -> None:
    c = consensus_of([op(str(a)) for a in answers], asked=len(answers))
    after = bounded_estimate(estimate, c, shift, D(1))
    assert abs(after - estimate) <= shift
    assert D(0) <= after <= D(1)


def test_polytui_without_the_sdks_names_the_extra_to_install() -> None:
    code = (
        "import sys; sys.modules['anthropic'] = None; sys.modules['openai'] = None\n"
        "import polytui.engine, polytui.wiring, polytui.advisors.panel\n"
        "from polytui.advisors.panel import AdvisorPanel\n"
        "from polytui.settings import AdvisorEntry, AdvisorSettings\n"
        "s = AdvisorSettings(enabled=True, entries=[AdvisorEntry(kind='openai', model='m')])\n"
        "p = AdvisorPanel(s, sink=lambda *a: None)\n"
        "print(p.statuses()[0].detail)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert "pip install 'polytui[advisors]'" in out.stdout


def test_engine_and_wiring_never_import_the_sdks() -> None:
    code = (
        "import sys, polytui.engine, polytui.wiring, polytui.config\n"
        "print(sorted(m for m in ('anthropic', 'openai') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_an_idle_advisor_row_is_never_stale() -> None:
    from polytui.model import FeedState, FeedStatus
    from polytui.tui.health import is_stale

    idle = FeedStatus("advisor openai:m", FeedState.LIVE, True, None, 0, 0, 0, 0)
    failing = FeedStatus("advisor openai:m", FeedState.DEGRADED, True, 900.0, 3, 2, 1, 4)
    assert not is_stale(idle) and is_stale(failing)
