"""Secrets never leave the environment: not in the journal, the logs or the event stream."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from polytui.config import LoadedConfig
from polytui.sim.server import SimServer
from polytui.wiring import build_engine
from tests.test_engine_e2e import engine_settings, wait_until

FAKE_KEY = "0x" + "5e" * 32
FAKE_SECRET = "c2VjcmV0LXRoYXQtbXVzdC1ub3QtbGVhaw=="
RPC_KEY = "RPCKEY9f3c2a1b"


@pytest.mark.reliability
async def test_fake_keys_appear_nowhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("POLYTUI_PRIVATE_KEY", FAKE_KEY)
    monkeypatch.setenv("POLYTUI_API_SECRET", FAKE_SECRET)
    async with SimServer("demo", seed=7, speed=3) as sim:
        # An RPC URL carrying a key, as providers hand them out.
        monkeypatch.setenv("POLYTUI_POLYGON_WS", f"{sim.urls['rpc_ws_url']}?apikey={RPC_KEY}")
        engine = build_engine(LoadedConfig(engine_settings(sim, tmp_path, "auto"), None))
        sub = engine.subscribe(1_000_000)
        task = asyncio.create_task(engine.run())
        await wait_until(lambda: engine.journal.count("fill") >= 1, 30)
        # Errors too: a second chain feed pointed at a dead endpoint with the key in its URL.
        from polytui.feeds.chain import ChainFeed

        dead = ChainFeed(
            f"ws://127.0.0.1:9/v2/{RPC_KEY}",
            addresses=[],
            wallets=set(),
            on_trade=lambda t: None,
            backoff_initial_s=0.01,
            backoff_cap_s=0.02,
        )
        dead_task = asyncio.create_task(dead.run())
        await wait_until(lambda: dead.status().reconnects >= 2, 10)
        await dead.stop()
        dead_task.cancel()
        statuses = [repr(s) for s in engine.feed_statuses()] + [repr(dead.status())]
        await engine.stop()
        await task
        engine.journal.close()
    haystacks = {
        "journal": b"".join(p.read_bytes() for p in tmp_path.rglob("*.db*")),
        "logs": "\n".join(r.getMessage() for r in caplog.records).encode(),
        "events": "\n".join(repr(e) for e in sub.drain()).encode(),
        "status": "\n".join(statuses).encode(),
    }
    hits = {
        where: [s for s in (FAKE_KEY, FAKE_KEY[2:], FAKE_SECRET, RPC_KEY) if s.encode() in blob]
        for where, blob in haystacks.items()
    }
    print("secrets scan:", {k: len(v) for k, v in hits.items()}, "hits")
    assert hits == {"journal": [], "logs": [], "events": [], "status": []}


def test_redaction_scrubs_url_parts_and_key_shaped_strings() -> None:
    from polytui import redaction

    redaction.register_secrets(["wss://polygon.example/v2/abcdefghijklmnop?apikey=QQQQQQQQ"])
    text = redaction.redact(
        "GET /v2/abcdefghijklmnop?apikey=QQQQQQQQ and key 0x" + "ab" * 32 + " done"
    )
    assert "abcdefghijklmnop" not in text and "QQQQQQQQ" not in text and "abab" not in text
    assert text.endswith(" done")
