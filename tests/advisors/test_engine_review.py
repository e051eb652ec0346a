"""End to end: simulator → engine → pending buy → advisors over the SDKs → bounded review."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from decimal import Decimal as D
from pathlib import Path

import pytest

from polytui.config import LoadedConfig
from polytui.settings import AdvisorEntry
from polytui.sim.server import SimServer
from polytui.wiring import build_engine
from tests.advisors.llm_server import Json, LlmServer, Slow, llm_server
from tests.test_engine_e2e import engine_settings, start, stop, wait_until

DOUBT = {"probability": 0.05, "confidence": 1, "rationale": "price already reflects it"}


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    async with SimServer("demo", seed=7, speed=3) as server:
        os.environ.update(server.environment())
        yield server


@pytest.fixture
async def llm() -> AsyncIterator[LlmServer]:
    async with llm_server() as s:
        yield s


def with_advisors(sim: SimServer, llm: LlmServer, tmp: Path, *models: str, budget_ms: int = 1500):
    s = engine_settings(sim, tmp, "auto")
    s.advisors.enabled = True
    s.advisors.budget_ms = budget_ms
    s.advisors.entries = [
        AdvisorEntry(kind="openai", model=m, base_url=f"{llm.base}/v1") for m in models
    ]
    return LoadedConfig(s, None)


async def test_doubting_consensus_shrinks_buys_within_the_bound_before_auto_approval(
    sim: SimServer, llm: LlmServer, tmp_path: Path
) -> None:
    llm.scripts["doubt"] = [Json(DOUBT)]
    engine = build_engine(with_advisors(sim, llm, tmp_path, "doubt"))
    task = await start(engine)
    await wait_until(lambda: engine.journal.count("advice") >= 2, 40)
    await stop(engine, task)
    j = engine.journal
    advice = [e.payload for e in j.events(kinds=["advice"])]
    for a in advice:
        moved = D(a["estimate_before"]) - D(a["estimate_after"])
        assert D(0) < moved <= D("0.05")  # toward 0.05, by at most max_shift
        assert D(a["shares_after"]) <= D(a["shares_before"])
    # Every reviewed intent was decided after its review, never before it.
    decided = {e.ref: e.id for e in j.events(kinds=["decision"])}
    reviewed = {e.ref: e.id for e in j.events(kinds=["advice"])}
    assert all(decided[ref] > row for ref, row in reviewed.items() if ref in decided)
    assert j.count("advisor_request") == j.count("advisor_answer") >= len(advice)
    health = {f.name: f for f in engine.feed_statuses()}
    assert health["advisor openai:doubt"].messages >= 2


async def test_slow_advisor_never_holds_a_decision_past_the_budget(
    sim: SimServer, llm: LlmServer, tmp_path: Path
) -> None:
    llm.scripts["slow"] = [Slow(3.0, DOUBT)]
    engine = build_engine(with_advisors(sim, llm, tmp_path, "slow", budget_ms=300))
    task = await start(engine)
    await wait_until(lambda: engine.journal.count("advisor_consensus") >= 1, 40)
    first = next(engine.journal.events(kinds=["advisor_consensus"]))
    assert first.payload["answered"] == 0 and first.payload["asked"] == 1
    # The buy went ahead on the strategy's own estimate, then the answer came late.
    await wait_until(
        lambda: any(e.payload.get("late") for e in engine.journal.events(kinds=["advisor_answer"])),
        20,
    )
    await wait_until(lambda: engine.journal.count("fill") >= 1, 30)
    await stop(engine, task)
    late = [e.payload for e in engine.journal.events(kinds=["advisor_answer"]) if e.payload["late"]]
    assert late and late[0]["status"] == "ok"
    advice = [e.payload for e in engine.journal.events(kinds=["advice"])]
    assert all(a["estimate_before"] == a["estimate_after"] for a in advice)
    await asyncio.sleep(0)
