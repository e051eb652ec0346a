"""A real daemon with [telegram] and [metrics] on: approvals from the fake Bot API, a scrape,
and a log file (at DEBUG, where httpx logs every request URL) that never shows the token."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import httpx

from polytui.settings import Settings
from tests.daemon.harness import DaemonProcess
from tests.remote.fakebot import TOKEN, FakeBotApi

ME = 4242


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RemoteDaemon(DaemonProcess):
    """The daemon harness with the bot pointed at the fake and metrics on a free port."""

    def __init__(self, sim: Any, work: Path, api_url: str, *, token: str | None = TOKEN):
        self.api_url = api_url
        self.metrics_port = free_port()
        super().__init__(sim, work, policy="manual", ttl_s=20)
        if token is not None:
            self.env["POLYTUI_TELEGRAM_TOKEN"] = token
        else:
            self.env.pop("POLYTUI_TELEGRAM_TOKEN", None)

    def settings(self, **risk: Any) -> Settings:
        s = super().settings(**risk)
        s.telegram.enabled = True
        s.telegram.allowed_chat_ids = [ME]
        s.telegram.api_base_url = self.api_url
        s.telegram.poll_timeout_s = 1
        s.metrics.listen = f"127.0.0.1:{self.metrics_port}"
        s.daemon.log_level = "DEBUG"
        return s


async def test_the_daemon_takes_approvals_from_telegram_and_serves_metrics(
    sim: Any, tmp_path: Path
) -> None:
    fake = await FakeBotApi().start()
    daemon = RemoteDaemon(sim, tmp_path, fake.url)
    try:
        await asyncio.to_thread(daemon.start)

        def prompt() -> Any:
            return next(
                (m for m in fake.sent(ME) if "reply_markup" in m and "Approve?" in m["text"]),
                None,
            )

        message = await fake.wait_for(prompt, timeout=40)
        data = message["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        intent_id = data.split(":", 1)[1]
        query = fake.press(ME, message["message_id"], data)
        answer = await fake.wait_for(lambda: fake.answered.get(query), timeout=10)
        assert f"approved {intent_id}" in answer["text"] or "still working" in answer["text"]
        # The prompt is edited to the outcome, its buttons gone.
        await fake.wait_for(
            lambda: (
                "→ APPROVED" in fake.messages[(ME, message["message_id"])]["text"]
                or "→ FILLED" in fake.messages[(ME, message["message_id"])]["text"]
            ),
            timeout=20,
        )
        fake.say(ME, "/pause")
        await fake.wait_for(lambda: any("paused" in m["text"] for m in fake.sent(ME)))
        status = json.loads((await asyncio.to_thread(daemon.cli, "status", "--json")).stdout)
        assert status["state"]["paused"] is True
        async with httpx.AsyncClient() as client:
            scraped = await client.get(f"http://127.0.0.1:{daemon.metrics_port}/metrics")
        assert scraped.status_code == 200
        assert "polytui_engine_paused 1.0" in scraped.text
        assert 'polytui_intents_total{status="approved"}' in scraped.text
    finally:
        await asyncio.to_thread(daemon.stop)
        await fake.stop()
    log_text = daemon.log_file.read_text()
    assert "getUpdates" in log_text  # httpx did log the request URLs …
    assert TOKEN.partition(":")[2] not in log_text  # … with the token scrubbed
    records = [json.loads(line) for line in log_text.splitlines() if line]
    events = [r["event"] for r in records]
    assert "telegram_started" in events and "metrics_started" in events
    # Stopping the bot and the metrics port with the daemon is part of a clean stop.
    assert [r for r in records if r["level"] == "error"] == []


def test_an_enabled_bot_without_its_token_stops_the_daemon_with_ex_config(
    sim: Any, tmp_path: Path
) -> None:
    daemon = RemoteDaemon(sim, tmp_path, "http://127.0.0.1:9", token=None)
    proc = daemon.spawn()
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        daemon.stop()
    assert proc.returncode == 78
    assert b"POLYTUI_TELEGRAM_TOKEN" in err and b"Traceback" not in err
