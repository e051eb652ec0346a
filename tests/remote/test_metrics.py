"""``[metrics] listen``: a real engine on the simulator, scraped over HTTP and parsed."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from polytui.model import IntentStatus
from polytui.remote.metrics import MetricsServer
from polytui.remote.services import RemoteError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


async def scrape(port: int) -> tuple[httpx.Response, dict[Any, float]]:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{port}/metrics")
    return response, samples(response.text)


async def test_a_scrape_shows_feeds_money_and_counts_of_the_running_engine(engine: Any) -> None:
    port = free_port()
    server = MetricsServer(engine, f"127.0.0.1:{port}")
    await server.start()
    try:
        # Wait for the simulator's whales to produce an intent, approve it, let it fill.
        deadline = time.monotonic() + 40
        while not engine.snapshot().intents and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        intent = engine.snapshot().intents[0]
        result = await engine.command("approve", intent_id=intent.id)
        assert result.ok, result.message
        while time.monotonic() < deadline:
            status = engine.strategy.approvals.get(intent.id).status
            if status in (IntentStatus.FILLED, IntentStatus.FAILED):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.2)  # the counting subscription drains once a second at worst
        response, got = await scrape(port)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain; version=")
        snap = engine.snapshot()
        assert got[("polytui_cash_usd", ())] == pytest.approx(float(snap.pnl.cash_usd))
        assert got[("polytui_equity_usd", ())] == pytest.approx(float(snap.pnl.equity_usd))
        assert got[("polytui_open_positions", ())] == len(snap.positions)
        assert got[("polytui_engine_paused", ())] == 0.0
        feeds = {f.name: f for f in snap.feeds}
        assert "clob" in feeds
        assert (
            got[("polytui_feed_state", (("feed", "clob"), ("state", feeds["clob"].state.value)))]
            == 1.0
        )
        assert ("polytui_feed_reconnects_total", (("feed", "clob"),)) in got
        assert ("polytui_feed_last_data_age_seconds", (("feed", "clob"),)) in got
        assert got[("polytui_signals_total", ())] >= 1
        assert got[("polytui_intents_total", (("status", "approved"),))] >= 1
        if status is IntentStatus.FILLED:
            assert got[("polytui_fills_total", ())] >= 1
        used = {k[1][0][1]: v for k, v in got.items() if k[0] == "polytui_risk_used"}
        assert used, got.keys()
        # A scrape reads the engine as it is now: pausing shows on the next one.
        await engine.command("pause")
        _, again = await scrape(port)
        assert again[("polytui_engine_paused", ())] == 1.0
        assert server.scrapes == 2
    finally:
        await server.stop()


async def test_a_port_in_use_is_a_clear_error(engine: Any) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = MetricsServer(engine, f"127.0.0.1:{port}")
        with pytest.raises(RemoteError, match=rf"\[metrics\] listen 127.0.0.1:{port}: cannot bind"):
            await server.start()
