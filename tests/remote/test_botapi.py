"""The Bot API client keeps the token out of every error and log line, and the outbox's
scheduling obeys Telegram's flood limits."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator

import pytest

from polytui import redaction
from polytui.config import ConfigError, settings_from_dict
from polytui.remote.botapi import BotApi, BotApiError
from polytui.remote.outbox import Outbox, Outgoing
from polytui.remote.services import RemoteError, remote_services
from polytui.settings import Settings
from tests.remote.fakebot import TOKEN, FakeBotApi

SECRET_HALF = TOKEN.partition(":")[2]


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    api = await FakeBotApi().start()
    yield api
    await api.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_refusal_names_the_method_and_never_the_token(fake: FakeBotApi) -> None:
    api = BotApi(fake.url, TOKEN)
    try:
        with pytest.raises(BotApiError) as caught:
            await api.call("editMessageText", {"chat_id": 1, "message_id": 77, "text": "x"})
        assert str(caught.value) == "editMessageText: Bad Request: message to edit not found"
        assert caught.value.status == 400 and not caught.value.temporary
        fake.floods["sendMessage"] = 1
        with pytest.raises(BotApiError) as flood:
            await api.call("sendMessage", {"chat_id": 1, "text": "hi"})
        assert flood.value.retry_after_s == 1 and flood.value.temporary
    finally:
        await api.close()


async def test_an_unreachable_api_and_its_log_lines_never_show_the_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    redaction.install(Settings())
    caplog.set_level(logging.DEBUG)
    api = BotApi(f"http://127.0.0.1:{free_port()}", TOKEN)
    try:
        with pytest.raises(BotApiError) as caught:
            await api.call("getUpdates", {"timeout": 0})
        assert caught.value.temporary
        text = (
            f"{caught.value} {caught.value!r} {caught.value.__cause__} {caught.value.__context__}"
        )
        assert SECRET_HALF not in text
        logging.getLogger("httpx").info("HTTP Request: POST %s/bot%s/getUpdates", "http://x", TOKEN)
    finally:
        await api.close()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "getUpdates" in logged
    assert SECRET_HALF not in logged


async def test_a_wrong_token_is_unauthorized(fake: FakeBotApi) -> None:
    api = BotApi(fake.url, "1:wrong")
    try:
        with pytest.raises(BotApiError, match="Unauthorized"):
            await api.call("getUpdates")
    finally:
        await api.close()


def test_the_outbox_keeps_one_message_a_second_per_chat_and_thirty_overall() -> None:
    now = [100.0]
    box = Outbox(BotApi("http://127.0.0.1:9", TOKEN), 100, clock=lambda: now[0])
    for chat in (1, 1, 2):
        box.put(Outgoing(chat, "sendMessage", {"chat_id": chat, "text": "x"}))
    first, _ = box._next(now[0])
    assert first is not None and first.chat_id == 1
    box.mark_sent(1, now[0])
    second, _ = box._next(now[0])
    assert second is not None and second.chat_id == 2  # chat 1 waits, chat 2 need not
    box.mark_sent(2, now[0])
    nothing, wait = box._next(now[0])
    assert nothing is None and wait == pytest.approx(1.0)
    now[0] += 1.0
    third, _ = box._next(now[0])
    assert third is not None and third.chat_id == 1
    # 30 sends in the last second: nobody, whatever chat, until the oldest is a second old.
    for chat in range(100, 130):
        box.mark_sent(chat, now[0])
    box.put(Outgoing(9, "sendMessage", {"chat_id": 9, "text": "x"}))
    blocked, wait = box._next(now[0] + 0.5)
    assert blocked is None and wait == pytest.approx(0.5)


def test_a_full_outbox_drops_the_oldest_alert_and_keeps_approvals_first() -> None:
    box = Outbox(BotApi("http://127.0.0.1:9", TOKEN), 3)
    for text in ("alert-1", "alert-2", "alert-3"):
        box.put(Outgoing(1, "sendMessage", {"chat_id": 1, "text": text}))
    box.put(Outgoing(1, "sendMessage", {"chat_id": 1, "text": "approve?"}, urgent=True))
    assert box.dropped == 1
    order = [q.params["text"] for q in (*box._urgent, *box._normal)]
    assert order == ["approve?", "alert-2", "alert-3"]
    box.put(Outgoing(1, "sendMessage", {"chat_id": 1, "text": "approve 2?"}, urgent=True))
    first, _ = box._next(0.0)
    assert first is not None and first.params["text"] == "approve?"  # urgent first, in order


def test_telegram_config_needs_allowed_chats_and_known_events() -> None:
    with pytest.raises(ConfigError, match=r"telegram\.allowed_chat_ids"):
        settings_from_dict({"telegram": {"enabled": True}})
    with pytest.raises(ConfigError, match=r"telegram.events\[1\].*unknown event 'trades'"):
        settings_from_dict({"telegram": {"events": ["fills", "trades"]}})
    with pytest.raises(ConfigError, match=r"telegram\.summary_at_utc"):
        settings_from_dict({"telegram": {"summary_at_utc": "25:00"}})
    with pytest.raises(ConfigError, match=r"metrics\.listen"):
        settings_from_dict({"metrics": {"listen": "9464"}})
    with pytest.raises(ConfigError, match=r"telegram\.bot_token.*looks like a secret"):
        settings_from_dict({"telegram": {"bot_token": TOKEN}})
    ok = settings_from_dict({"telegram": {"enabled": True, "allowed_chat_ids": [5, -100]}})
    assert ok.telegram.allowed_chat_ids == [5, -100]


def test_an_enabled_bot_without_its_token_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("POLYTUI_TELEGRAM_TOKEN", raising=False)
    settings = settings_from_dict({"telegram": {"enabled": True, "allowed_chat_ids": [5]}})
    with pytest.raises(RemoteError, match="POLYTUI_TELEGRAM_TOKEN"):
        remote_services(settings, engine=None)  # type: ignore[arg-type]
