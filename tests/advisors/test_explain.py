"""``polytui whales explain``: claims checked against the profile's numbers and the trade ids."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal as D
from pathlib import Path

import pytest

from polytui.advisors.explain import _value_matches, check
from polytui.journal import Journal
from tests.advisors.llm_server import Json, LlmServer, Text, llm_server
from tests.feeds.history_server import serve_history
from tests.whales.test_commands import run, write_config
from tests.whales.test_refresh import WHALE, make_world

FACTS = {"settled_bets": D(40), "roi": D("0.12"), "edge_per_share": D("0.041")}
TRADES = {
    "T01": {
        "side": "BUY",
        "outcome": "Yes",
        "price": "0.6",
        "shares": "10",
        "time": "2026-06-01T00:00:00+00:00",
        "tx": "0xabc",
    }
}


def claim(text: str, *evidence: tuple[str, str, str]) -> dict:
    return {"text": text, "evidence": [{"kind": k, "ref": r, "value": v} for k, r, v in evidence]}


@pytest.mark.parametrize(
    ("written", "fact", "ok"),
    [
        ("40", D(40), True),
        ("12%", D("0.12"), True),
        ("+4.1¢", D("0.041"), True),
        ("0.04", D("0.041"), True),  # within half a unit of the digits written
        ("0.05", D("0.041"), False),
        ("1,200", D(1200), True),
        ("about forty", D(40), False),
    ],
)
def test_a_cited_value_must_match_its_fact(written: str, fact: D, ok: bool) -> None:
    assert _value_matches(written, fact) is ok


def test_claims_without_checked_evidence_are_dropped_with_the_reason() -> None:
    answer = {
        "claims": [
            claim("Settles a lot of bets", ("number", "settled_bets", "40")),
            claim("Bought Yes at 0.60", ("trade", "T01", "")),
            claim(
                "A genius",
            ),
            claim("Made 900 dollars", ("number", "roi", "900%")),
            claim("Also bought here", ("trade", "T99", "")),
            claim("Wins often", ("number", "win_streak", "9")),
        ]
    }
    playbook = check(answer, FACTS, TRADES, WHALE, "openai:m")
    assert [c.text for c in playbook.claims] == ["Settles a lot of bets", "Bought Yes at 0.60"]
    assert playbook.claims[1].evidence[0].startswith("T01: BUY Yes @ 0.6")
    why = dict(playbook.dropped)
    assert why["A genius"] == "no evidence"
    assert "it is 0.12" in why["Made 900 dollars"]
    assert "T99" in why["Also bought here"]
    assert "does not exist" in why["Wins often"]


@pytest.fixture
async def llm() -> AsyncIterator[LlmServer]:
    async with llm_server() as s:
        yield s


def with_advisor(config: Path, llm: LlmServer, model: str) -> None:
    config.write_text(
        config.read_text() + f'\n[[advisors.entries]]\nkind = "openai"\nmodel = "{model}"\n'
        f'base_url = "{llm.base}/v1"\nusd_per_mtok_in = "1"\n'
    )


async def test_explain_prints_only_claims_that_cite_real_numbers_and_trades(
    tmp_path: Path, llm: LlmServer
) -> None:
    llm.scripts["explainer"] = [
        Json(
            {
                "claims": [
                    claim("Forty settled bets behind it", ("number", "settled_bets", "40")),
                    claim("Its first fill shown", ("trade", "T01", "")),
                    claim("Made a fortune", ("number", "realized_pnl_usd", "900")),
                    claim("Sharp trader"),
                ]
            },
            input_tokens=2000,
        )
    ]
    async with serve_history(make_world()) as server:
        config = write_config(tmp_path, server.url)
        with_advisor(config, llm, "explainer")
        code, _, err = await run("whales", "rank", WHALE, "--json", "--config", str(config))
        assert code == 0, err
        code, out, err = await run(
            "whales", "explain", WHALE, "--no-refresh", "--json", "--config", str(config)
        )
    assert code == 0, err
    doc = json.loads(out)
    assert [c["text"] for c in doc["claims"]] == [
        "Forty settled bets behind it",
        "Its first fill shown",
    ]
    assert doc["claims"][0]["evidence"] == ["settled_bets = 40"]
    assert {d["text"]: d["why"] for d in doc["dropped"]} == {
        "Made a fortune": "says realized_pnl_usd = '900'; it is 18",
        "Sharp trader": "no evidence",
    }
    (req,) = llm.seen("explainer")
    sent = json.loads(req.body["messages"][1]["content"])
    assert sent["facts"]["settled_bets"] == "40" and "T01" in sent["recent_fills"]
    assert req.body["response_format"]["json_schema"]["name"] == "playbook"
    journal = Journal.open(tmp_path / "data" / "paper.db", mode="paper", backup=False)
    answers = [e.payload for e in journal.events(kinds=["advisor_answer"])]
    journal.close()
    assert answers[0]["purpose"] == "explain" and D(answers[0]["cost_usd"]) == D("0.002")


async def test_explain_with_a_malformed_answer_says_so_in_one_line(
    tmp_path: Path, llm: LlmServer
) -> None:
    llm.scripts["broken"] = [Text("Sure! Here is the playbook: {")]
    async with serve_history(make_world()) as server:
        config = write_config(tmp_path, server.url)
        with_advisor(config, llm, "broken")
        await run("whales", "rank", WHALE, "--json", "--config", str(config))
        code, out, err = await run(
            "whales", "explain", WHALE, "--no-refresh", "--config", str(config)
        )
    assert code == 1 and out == ""
    assert "openai:broken gave no usable answer: malformed" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
