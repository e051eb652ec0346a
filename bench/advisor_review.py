"""How long a pending buy waits for its second opinion, through the real SDKs on loopback.

Two runs against the loopback Messages / chat-completions server of the tests: (a) two advisors
(one per SDK) that answer at once — the review's own cost; (b) the same two plus one that
answers 1 s late, with budget_ms = 300 — how far past the budget a decision can slip. Figures:
review latency p50 / p95 / max per run, the worst overshoot of the budget, and the event loop's
worst stall while the reviews run (what the feeds feel). Answers are journaled to a list.

Run: ``python -m bench.advisor_review`` (``--smoke``: 10 reviews per run).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from typing import Any

from bench.harness import StallMeter, count_for, report
from polytui.advisors.panel import AdvisorPanel
from polytui.settings import AdvisorEntry, AdvisorSettings
from tests.advisors.llm_server import Json, Slow, llm_server

REVIEWS = 200
SMOKE_REVIEWS = 10
GOOD = {"probability": 0.6, "confidence": 0.7, "rationale": "bench"}


async def _run(count: int, slow: bool) -> dict[str, Any]:
    async with llm_server() as server:
        server.scripts["a"] = [Json(GOOD)]
        server.scripts["o"] = [Json(GOOD)]
        server.scripts["late"] = [Slow(1.0, GOOD)]
        entries = [
            AdvisorEntry(kind="anthropic", model="a", base_url=server.base),
            AdvisorEntry(kind="openai", model="o", base_url=f"{server.base}/v1"),
        ]
        if slow:
            entries.append(AdvisorEntry(kind="openai", model="late", base_url=f"{server.base}/v1"))
        budget_ms = 300 if slow else 1500
        settings = AdvisorSettings(
            enabled=True, budget_ms=budget_ms, entries=entries, daily_token_cap=0
        )
        records: list[Any] = []
        panel = AdvisorPanel(settings, sink=lambda *r: records.append(r))
        latencies: list[float] = []
        async with StallMeter() as stall:
            for i in range(count):
                started = time.perf_counter()
                consensus = await panel.opinions(f"int-{i}", "system", '{"bench": true}')
                latencies.append((time.perf_counter() - started) * 1000)
                assert consensus.answered == 2
        await panel.close()
    latencies.sort()
    return {
        "reviews": count,
        "budget_ms": budget_ms,
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
        "max_ms": round(latencies[-1], 1),
        "worst_overshoot_ms": round(max(0.0, latencies[-1] - budget_ms), 1),
        "worst_loop_stall_ms": stall.worst_ms,
    }


def main(argv: list[str]) -> dict[str, Any]:
    """Both runs; prints and returns the figures."""
    count = count_for(argv, REVIEWS, SMOKE_REVIEWS)
    result = {
        "two_prompt_advisors": asyncio.run(_run(count, slow=False)),
        "plus_one_past_the_budget": asyncio.run(_run(count, slow=True)),
    }
    return report(result, indent=1)


if __name__ == "__main__":
    main(sys.argv[1:])
