"""The backtest never calls a model; with a recorded answer set it replays those opinions."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from polytui.backtest.command import backtest_report, recorded_clients
from polytui.backtest.world import open_world
from polytui.config import LoadedConfig
from polytui.settings import AdvisorEntry, Settings
from tests.advisors.llm_server import llm_server


def advised(base_url: str) -> LoadedConfig:
    s = Settings()
    # Copies from the first trade (unmeasured whales on faith), so there is something to advise.
    s.strategy.prior_edge, s.strategy.confidence_z = Decimal("0.2"), Decimal(0)
    # Limits that never bind: a rejected copy must not free room that another copy then takes.
    s.risk.max_total_exposure_usd = s.risk.max_market_exposure_usd = Decimal(10_000)
    s.risk.max_open_positions = 10_000
    s.risk.max_daily_loss_usd = Decimal(10_000)
    s.advisors.enabled = True
    s.advisors.entries = [AdvisorEntry(kind="openai", model="m", name="doubter", base_url=base_url)]
    return LoadedConfig(s, None)


async def test_a_config_with_advisors_on_still_backtests_without_them() -> None:
    async with llm_server() as server:
        loaded = advised(f"{server.base}/v1")
        report = await _in_thread(
            lambda: backtest_report(loaded, scenario="demo", scenario_file=None, seed=7, hours=0.25)
        )
        assert server.requests == []
    assert report["advisors"] == {"mode": "off"}
    assert report["copies"] > 0


async def _in_thread(fn):  # the backtest runs its own (virtual-time) loop
    import asyncio

    return await asyncio.to_thread(fn)


def test_recorded_answers_move_estimates_and_the_report_says_what_it_is(tmp_path: Path) -> None:
    world = open_world("demo", None, 7, 0.25)
    answers = tmp_path / "answers.jsonl"
    lines = [
        json.dumps(
            {
                "advisor": "doubter",
                "question": m.question,
                "outcome": outcome,
                "answer": {"probability": 0.0, "confidence": 1, "rationale": "recorded"},
            }
        )
        for m in world.scenario.markets
        for outcome in ("Yes", "No")
    ]
    answers.write_text("\n".join(lines) + "\n")
    loaded = advised("http://127.0.0.1:9/v1")  # never reached: answers come from the file
    clients, problem = recorded_clients(loaded, answers)
    assert problem == "" and clients is not None
    off = backtest_report(loaded, scenario="demo", scenario_file=None, seed=7, hours=0.25)
    on = backtest_report(
        loaded, scenario="demo", scenario_file=None, seed=7, hours=0.25, advisor_clients=clients
    )
    a = on["advisors"]
    assert a["reviews"] > 0 and a["moved"] == a["reviews"]
    assert a["shrunk"] + a["rejected"] > 0
    assert on["copies"] <= off["copies"]
    from polytui.backtest.render import to_text

    assert "not a measure of forecasting skill" in to_text(on)


def test_a_bad_answer_file_names_its_line(tmp_path: Path) -> None:
    answers = tmp_path / "answers.jsonl"
    answers.write_text('{"advisor": "doubter", "question": "q"}\n')
    clients, problem = recorded_clients(advised("http://127.0.0.1:9/v1"), answers)
    assert clients is None and "answers.jsonl line 1" in problem
