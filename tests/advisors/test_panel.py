"""The advisor panel against a loopback Messages / chat-completions server, through the SDKs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from polytui.advisors.panel import AdvisorPanel
from polytui.clock import FakeClock
from polytui.journal import Journal
from polytui.model import FeedState
from polytui.settings import AdvisorEntry, AdvisorSettings
from tests.advisors.llm_server import Json, Limit, LlmServer, Refuse, Slow, Text, llm_server

GOOD = {"probability": 0.62, "confidence": 0.8, "rationale": "edge 4.1 c/share on 212 bets"}
KEY = "sk-loopback-key-123456"


@pytest.fixture
async def server() -> AsyncIterator[LlmServer]:
    async with llm_server() as s:
        yield s


def entry(server: LlmServer, kind: str, model: str, **kw: Any) -> AdvisorEntry:
    base = server.base if kind == "anthropic" else f"{server.base}/v1"
    return AdvisorEntry(
        kind=kind,
        model=model,
        base_url=base,
        api_key_env="LOOPBACK_ADVISOR_KEY",
        usd_per_mtok_in=D(3),
        usd_per_mtok_out=D(15),
        **kw,
    )


class Sink:
    def __init__(self) -> None:
        self.records: list[tuple[str, str, dict[str, Any]]] = []

    def __call__(self, kind: str, ref: str, payload: dict[str, Any]) -> None:
        self.records.append((kind, ref, payload))

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [p for k, _, p in self.records if k == kind]


def panel(
    entries: list[AdvisorEntry], sink: Sink, clock: FakeClock | None = None, **kw: Any
) -> AdvisorPanel:
    settings = AdvisorSettings(enabled=True, entries=entries, **kw)
    return AdvisorPanel(
        settings, sink=sink, clock=clock or FakeClock(), env={"LOOPBACK_ADVISOR_KEY": KEY}
    )


KINDS = ["anthropic", "openai"]


@pytest.mark.parametrize("kind", KINDS)
async def test_valid_answer_becomes_an_opinion_journaled_with_tokens_and_cost(
    server: LlmServer, kind: str
) -> None:
    server.scripts["m"] = [Json(GOOD, input_tokens=1000, output_tokens=200)]
    sink = Sink()
    p = panel([entry(server, kind, "m")], sink)
    consensus = await p.opinions("int-1", "system", '{"q": 1}')
    await p.close()
    assert consensus.answered == 1 and consensus.asked == 1
    assert consensus.probability == D("0.62")
    (answer,) = sink.of("advisor_answer")
    assert answer["status"] == "ok" and answer["late"] is False
    assert (answer["input_tokens"], answer["output_tokens"]) == (1000, 200)
    # 1000 × 3 + 200 × 15 USD per million tokens.
    assert answer["cost_usd"] == D("0.006")
    (request,) = sink.of("advisor_request")
    assert request["user"] == '{"q": 1}' and request["request_id"] == answer["request_id"]


async def test_anthropic_request_carries_the_schema_and_the_key_header(server: LlmServer) -> None:
    server.scripts["m"] = [Json(GOOD)]
    p = panel([entry(server, "anthropic", "m")], Sink())
    await p.opinions("int-1", "sys", "user")
    await p.close()
    (req,) = server.seen("m")
    assert req.path == "/v1/messages"
    # anthropic 2.15.0 sends the key as a bearer token (2.10.0 used x-api-key).
    assert req.headers["authorization"] == f"Bearer {KEY}"
    assert req.headers["anthropic-version"]
    fmt = req.body["output_config"]["format"]
    assert fmt["type"] == "json_schema"
    assert fmt["schema"]["required"] == ["probability", "confidence", "rationale"]
    assert "maximum" not in fmt["schema"]["properties"]["probability"]  # enforced locally
    assert req.body["system"] == "sys" and req.body["max_tokens"] == 600


async def test_openai_request_is_strict_json_schema_with_bearer_key(server: LlmServer) -> None:
    server.scripts["m"] = [Json(GOOD)]
    p = panel([entry(server, "openai", "m")], Sink())
    await p.opinions("int-1", "sys", "user")
    await p.close()
    (req,) = server.seen("m")
    assert req.path == "/v1/chat/completions"
    assert req.headers["authorization"] == f"Bearer {KEY}"
    rf = req.body["response_format"]
    assert rf["type"] == "json_schema" and rf["json_schema"]["strict"] is True
    assert [m["role"] for m in req.body["messages"]] == ["system", "user"]


@pytest.mark.parametrize("kind", KINDS)
async def test_malformed_json_is_counted_and_kept_in_the_journal(
    server: LlmServer, kind: str
) -> None:
    server.scripts["m"] = [Text('{"probability": 0.6, "confid')]
    sink = Sink()
    p = panel([entry(server, kind, "m")], sink)
    consensus = await p.opinions("int-1", "s", "u")
    await p.close()
    assert consensus.answered == 0 and consensus.probability is None
    (answer,) = sink.of("advisor_answer")
    assert answer["status"] == "malformed"
    assert answer["text"].startswith('{"probability": 0.6')
    assert p.advisors[0].counters.malformed == 1


@pytest.mark.parametrize(
    "bad",
    [
        {"probability": 1.7, "confidence": 0.5, "rationale": "x"},
        {"probability": 0.5, "confidence": 0.5},
        {"probability": "0.5", "confidence": 0.5, "rationale": "x"},
        {**GOOD, "trade_now": True},
    ],
    ids=["out-of-range", "missing-key", "wrong-type", "extra-key"],
)
async def test_schema_violation_is_dropped_and_counted(
    server: LlmServer, bad: dict[str, Any]
) -> None:
    server.scripts["m"] = [Json(bad)]
    sink = Sink()
    p = panel([entry(server, "openai", "m")], sink)
    consensus = await p.opinions("int-1", "s", "u")
    await p.close()
    assert consensus.answered == 0
    assert sink.of("advisor_answer")[0]["status"] == "schema"
    assert p.advisors[0].counters.schema == 1


@pytest.mark.parametrize("kind", KINDS)
async def test_refusal_is_counted_per_advisor_with_its_tokens(server: LlmServer, kind: str) -> None:
    server.scripts["m"] = [Refuse("not financial advice")]
    sink = Sink()
    p = panel([entry(server, kind, "m")], sink)
    consensus = await p.opinions("int-1", "s", "u")
    await p.close()
    assert consensus.answered == 0
    (answer,) = sink.of("advisor_answer")
    assert answer["status"] == "refused" and "not financial advice" in answer["problem"]
    assert answer["input_tokens"] == 100  # a refusal is still billed
    assert p.advisors[0].counters.refused == 1


@pytest.mark.parametrize("kind", KINDS)
async def test_429_cools_the_advisor_down_for_its_retry_after(server: LlmServer, kind: str) -> None:
    server.scripts["m"] = [Limit("30"), Json(GOOD)]
    clock = FakeClock()
    sink = Sink()
    p = panel([entry(server, kind, "m")], sink, clock)
    first = await p.opinions("int-1", "s", "u")
    assert first.answered == 0
    assert p.advisors[0].counters.rate_limited == 1
    assert p.statuses()[0].state is FeedState.DEGRADED
    await p.opinions("int-2", "s", "u")  # within the 30 s: not sent at all
    assert len(server.seen("m")) == 1
    assert "cooling down" in sink.of("advisor_skip")[0]["reason"]
    clock.advance(31)
    later = await p.opinions("int-3", "s", "u")
    await p.close()
    assert later.answered == 1 and len(server.seen("m")) == 2


async def test_answer_past_the_budget_is_journaled_late_and_ignored(server: LlmServer) -> None:
    server.scripts["slow"] = [Slow(0.8, {**GOOD, "probability": 0.99})]
    server.scripts["fast"] = [Json(GOOD)]
    sink = Sink()
    p = panel(
        [entry(server, "anthropic", "slow"), entry(server, "openai", "fast")], sink, budget_ms=300
    )
    consensus = await p.opinions("int-1", "s", "u")
    # Decided on the answer that came in time; the slow one has not even arrived yet.
    assert consensus.asked == 2 and consensus.answered == 1
    assert consensus.probability == D("0.62")
    assert [a["advisor"] for a in sink.of("advisor_answer")] == ["openai:fast"]
    for _ in range(40):
        if len(sink.of("advisor_answer")) == 2:
            break
        await asyncio.sleep(0.05)
    late = sink.of("advisor_answer")[1]
    assert late["advisor"] == "anthropic:slow" and late["late"] is True
    assert late["status"] == "ok" and late["answer"]["probability"] == D("0.99")
    assert p.advisors[0].counters.late == 1
    await p.close()


async def test_request_past_its_timeout_is_a_timeout(server: LlmServer) -> None:
    server.scripts["m"] = [Slow(2.0, GOOD)]
    sink = Sink()
    p = panel([entry(server, "openai", "m", timeout_s=0.3)], sink, budget_ms=5000)
    consensus = await p.opinions("int-1", "s", "u")
    await p.close()
    assert consensus.answered == 0
    assert sink.of("advisor_answer")[0]["status"] == "timeout"
    assert p.advisors[0].counters.timeout == 1


async def test_daily_token_cap_stops_calls_and_survives_a_restart(
    server: LlmServer, tmp_path: Path
) -> None:
    server.scripts["m"] = [Json(GOOD, input_tokens=900, output_tokens=200)]
    journal = Journal.open(tmp_path / "paper.sqlite", mode="paper", backup=False)

    def sink(kind: str, ref: str, payload: dict[str, Any]) -> None:
        journal.append(kind, payload, ref=ref)

    settings = AdvisorSettings(
        enabled=True, entries=[entry(server, "anthropic", "m")], daily_token_cap=1000
    )
    env = {"LOOPBACK_ADVISOR_KEY": KEY}
    p = AdvisorPanel(settings, sink=sink, clock=FakeClock(), env=env)
    assert (await p.opinions("int-1", "s", "u")).answered == 1
    assert (await p.opinions("int-2", "s", "u")).answered == 0  # 1,100 tokens ≥ 1,000
    await p.close()
    journal.flush()
    assert len(server.seen("m")) == 1
    restarted = AdvisorPanel(settings, sink=sink, clock=FakeClock(), env=env)
    restarted.restore_ledger(journal)
    assert restarted.ledger.tokens == 1100
    assert "daily token cap" in restarted.cap_reason()
    assert restarted.statuses()[0].state is FeedState.DISABLED
    await restarted.close()
    journal.close()


async def test_unset_key_disables_only_that_advisor(server: LlmServer) -> None:
    server.scripts["m"] = [Json(GOOD)]
    keyed = entry(server, "openai", "m")
    unkeyed = AdvisorEntry(kind="anthropic", model="x", api_key_env="NOT_SET_ANYWHERE_XYZ")
    sink = Sink()
    p = panel([keyed, unkeyed], sink)
    consensus = await p.opinions("int-1", "s", "u")
    await p.close()
    assert consensus.answered == 1
    rows = p.statuses()
    assert (
        rows[1].state is FeedState.DISABLED and "NOT_SET_ANYWHERE_XYZ is not set" in rows[1].detail
    )
    assert KEY not in repr(sink.records)


async def test_weighted_median_of_three_advisors(server: LlmServer) -> None:
    server.scripts["a"] = [Json({"probability": 0.50, "confidence": 1, "rationale": "r"})]
    server.scripts["b"] = [Json({"probability": 0.60, "confidence": 1, "rationale": "r"})]
    server.scripts["c"] = [Json({"probability": 0.70, "confidence": 1, "rationale": "r"})]
    p = panel(
        [
            entry(server, "anthropic", "a"),
            entry(server, "openai", "b"),
            entry(server, "openai", "c", weight=D(3)),
        ],
        Sink(),
    )
    consensus = await p.opinions("int-1", "s", "u")
    await p.close()
    assert consensus.probability == D("0.70")  # c carries 3 of 5 weight
    assert consensus.spread == D("0.20")


async def test_daily_cost_cap_stops_calls(server: LlmServer) -> None:
    server.scripts["m"] = [Json(GOOD, input_tokens=100_000, output_tokens=10_000)]
    sink = Sink()
    # 100,000 × 3 + 10,000 × 15 USD per million tokens = 0.45 USD per call.
    p = panel([entry(server, "openai", "m")], sink, daily_cost_cap_usd=D("0.5"), daily_token_cap=0)
    assert (await p.opinions("int-1", "s", "u")).answered == 1
    assert (await p.opinions("int-2", "s", "u")).answered == 1  # 0.45 < 0.5: still allowed
    assert (await p.opinions("int-3", "s", "u")).answered == 0  # 0.90 ≥ 0.5: stopped
    await p.close()
    assert len(server.seen("m")) == 2
    assert "daily cost cap reached (0.900000 of 0.5 USD)" in sink.of("advisor_skip")[0]["reason"]


async def test_reload_applies_the_new_bound_and_says_when_entries_need_a_restart(
    server: LlmServer,
) -> None:
    from polytui.advisors.second_opinion import SecondOpinions

    first = [entry(server, "openai", "m")]
    p = panel(first, Sink())
    reviews = SecondOpinions(p, p.settings)
    same = AdvisorSettings(enabled=True, entries=first, max_shift=D("0.01"))
    assert reviews.reload(same) == "" and p.settings.max_shift == D("0.01")
    more = AdvisorSettings(enabled=True, entries=[*first, entry(server, "anthropic", "x")])
    assert "next start" in reviews.reload(more)
    await reviews.stop()
