"""The Telegram bot against a loopback Bot API and a real engine trading the simulator."""

from __future__ import annotations

import asyncio
import copy
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from polytui.model import IntentStatus, TradeIntent
from polytui.remote.telegram import TelegramBot
from polytui.settings import TelegramSettings
from tests.remote.fakebot import TOKEN, FakeBotApi

ME = 111  # the allowed chat (a private chat: chat id = user id)
STRANGER = 999


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    api = await FakeBotApi().start()
    yield api
    await api.stop()


def bot_settings(fake: FakeBotApi, **kw: Any) -> TelegramSettings:
    return TelegramSettings(
        enabled=True,
        allowed_chat_ids=[ME],
        api_base_url=fake.url,
        poll_timeout_s=1,
        **kw,
    )


@pytest.fixture
async def bot(engine: Any, fake: FakeBotApi) -> AsyncIterator[TelegramBot]:
    running = TelegramBot(engine, bot_settings(fake), TOKEN, per_chat_interval_s=0.05)
    task = asyncio.create_task(running.run())
    yield running
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def prompt_of(fake: FakeBotApi, chat: int = ME) -> dict[str, Any] | None:
    """The newest approval prompt still showing its buttons."""
    for message in reversed(fake.sent(chat)):
        if "reply_markup" in message and message["text"].startswith("Approve?"):
            return message
    return None


def intent_id_of(message: dict[str, Any]) -> str:
    return message["reply_markup"]["inline_keyboard"][0][0]["callback_data"].split(":", 1)[1]


def status_of(engine: Any, intent_id: str) -> IntentStatus:
    intent: TradeIntent | None = engine.strategy.approvals.get(intent_id)
    assert intent is not None
    return intent.status


async def test_a_pending_trade_is_prompted_with_buttons_and_approve_runs_the_engine(
    engine: Any, bot: TelegramBot, fake: FakeBotApi
) -> None:
    prompt = await fake.wait_for(lambda: prompt_of(fake), timeout=40)
    text = prompt["text"]
    for word in ("size", "price", "fee", "net edge", "TTL"):
        assert word in text, text
    buttons = prompt["reply_markup"]["inline_keyboard"][0]
    assert [b["text"] for b in buttons] == ["Approve", "Reject"]
    intent_id = intent_id_of(prompt)
    query = fake.press(ME, prompt["message_id"], f"a:{intent_id}")
    answer = await fake.wait_for(lambda: fake.answered.get(query))
    # The engine's own answer, or (on a machine too loaded to finish within the second) a note
    # that it is still working; either way the press was answered.
    assert "approved" in answer["text"] or "still working" in answer["text"], answer
    await fake.wait_for(
        lambda: status_of(engine, intent_id) in (IntentStatus.APPROVED, IntentStatus.FILLED)
    )
    # The prompt loses its buttons and says what happened.
    edited = await fake.wait_for(
        lambda: (
            "reply_markup" not in fake.messages[(ME, prompt["message_id"])]
            and fake.messages[(ME, prompt["message_id"])]
        )
    )
    assert "→ APPROVED" in edited["text"] or "→ FILLED" in edited["text"], edited["text"]


async def test_reject_button_rejects_and_a_second_press_says_it_is_decided(
    engine: Any, bot: TelegramBot, fake: FakeBotApi
) -> None:
    prompt = await fake.wait_for(lambda: prompt_of(fake), timeout=40)
    intent_id = intent_id_of(prompt)
    first = fake.press(ME, prompt["message_id"], f"r:{intent_id}")
    await fake.wait_for(lambda: fake.answered.get(first))
    await fake.wait_for(lambda: status_of(engine, intent_id) is IntentStatus.REJECTED)
    again = fake.press(ME, prompt["message_id"], f"a:{intent_id}")
    answer = await fake.wait_for(lambda: fake.answered.get(again))
    if "still working" not in answer["text"]:  # a machine too loaded to answer in time
        assert "already rejected" in answer["text"] and answer.get("show_alert") is True
    assert status_of(engine, intent_id) is IntentStatus.REJECTED


async def test_a_replayed_callback_is_handled_once(
    engine: Any, bot: TelegramBot, fake: FakeBotApi
) -> None:
    prompt = await fake.wait_for(lambda: prompt_of(fake), timeout=40)
    intent_id = intent_id_of(prompt)
    query = fake.press(ME, prompt["message_id"], f"r:{intent_id}")
    await fake.wait_for(lambda: fake.answered.get(query))
    fake.redeliver(query, ME, prompt["message_id"], f"r:{intent_id}")
    await fake.wait_for(lambda: bot.replayed == 1)
    answers = [c for c in fake.of("answerCallbackQuery") if c.params["callback_query_id"] == query]
    assert len(answers) == 1
    engine.journal.flush(force=True)
    decisions = [e for e in engine.journal.events(["decision"]) if e.ref == intent_id]
    assert len(decisions) == 1


async def test_a_chat_not_allowed_is_refused_and_changes_nothing(
    engine: Any, bot: TelegramBot, fake: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    prompt = await fake.wait_for(lambda: prompt_of(fake), timeout=40)
    intent_id = intent_id_of(prompt)
    # A stranger who got hold of the callback data, and an allowed chat with a stranger in it.
    query = fake.press(STRANGER, prompt["message_id"], f"a:{intent_id}")
    inside = fake.press(ME, prompt["message_id"], f"a:{intent_id}", user=STRANGER)
    fake.say(STRANGER, "/pause")
    fake.say(STRANGER, "/kill")
    await fake.wait_for(lambda: bot.refused == 4)
    assert fake.answered[query]["text"] == "Not allowed."
    assert fake.answered[inside]["text"] == "Not allowed."
    assert status_of(engine, intent_id) in (IntentStatus.PENDING, IntentStatus.EXPIRED)
    state = engine.snapshot().state
    assert not state.paused and not state.killed
    assert fake.sent(STRANGER) == []
    assert any(
        "refused" in r.getMessage() and str(STRANGER) in r.getMessage() for r in caplog.records
    )


async def test_commands_status_pause_resume_positions(
    engine: Any, bot: TelegramBot, fake: FakeBotApi
) -> None:
    def reply(start: int, word: str) -> Any:
        return next((m for m in fake.sent(ME)[start:] if word in m["text"]), None)

    n = len(fake.sent(ME))
    fake.say(ME, "/status")
    status = await fake.wait_for(lambda: reply(n, "equity"))
    assert status["text"].startswith("polytui paper: running")
    fake.say(ME, "/pause")
    await fake.wait_for(lambda: engine.snapshot().state.paused)
    await fake.wait_for(lambda: reply(n, "paused: no new entries"))
    fake.say(ME, "/resume@polytui_bot")
    await fake.wait_for(lambda: not engine.snapshot().state.paused)
    fake.say(ME, "/positions")
    await fake.wait_for(lambda: reply(n, "position"))
    fake.say(ME, "/help")
    await fake.wait_for(lambda: reply(n, "Commands:"))


async def test_kill_needs_its_confirmation_button_which_works_once(
    engine: Any, bot: TelegramBot, fake: FakeBotApi
) -> None:
    fake.say(ME, "/kill")
    confirm = await fake.wait_for(
        lambda: next((m for m in fake.sent(ME) if m["text"].startswith("Kill switch")), None)
    )
    assert not engine.snapshot().state.killed  # asking is not doing
    data = confirm["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    query = fake.press(ME, confirm["message_id"], data)
    answer = await fake.wait_for(lambda: fake.answered.get(query))
    assert "kill switch on" in answer["text"] or "still working" in answer["text"], answer
    await fake.wait_for(lambda: engine.snapshot().state.killed)
    again = fake.press(ME, confirm["message_id"], data)
    answer = await fake.wait_for(lambda: fake.answered.get(again))
    assert "expired" in answer["text"]
    # The kill is also announced as a halt to every allowed chat.
    await fake.wait_for(lambda: any("KILL SWITCH ON" in m["text"] for m in fake.sent(ME)))


async def test_a_command_queued_while_the_bot_was_down_is_not_obeyed_late(
    engine: Any, bot: TelegramBot, fake: FakeBotApi
) -> None:
    fake.say(ME, "/pause", age_s=600)
    fake.say(ME, "/status")
    await fake.wait_for(lambda: any("equity" in m["text"] for m in fake.sent(ME)))
    assert bot.stale == 1 and not engine.snapshot().state.paused


async def test_a_slow_api_never_delays_a_button_answer_or_the_engine(
    engine: Any, fake: FakeBotApi
) -> None:
    bot = TelegramBot(engine, bot_settings(fake, queue_size=5), TOKEN, per_chat_interval_s=0.05)
    task = asyncio.create_task(bot.run())
    try:
        prompt = await fake.wait_for(lambda: prompt_of(fake), timeout=40)
        fake.delays["sendMessage"] = 3.0
        for _ in range(12):
            fake.say(ME, "/status")  # each reply is a slow sendMessage
        await fake.wait_for(lambda: fake.delays and len(fake.of("sendMessage")) >= 2)
        in_flight_since = fake.of("sendMessage")[-1].at
        query = fake.press(ME, prompt["message_id"], f"r:{intent_id_of(prompt)}")
        await fake.wait_for(lambda: fake.answered.get(query))
        answered_at = next(
            c.at for c in fake.of("answerCallbackQuery") if c.params["callback_query_id"] == query
        )
        # Answered while the slow sendMessage was still running: it never queued behind it.
        assert answered_at < in_flight_since + 3.0
        # The queue holds 5: the replies beyond that were dropped and counted, nothing waited.
        await fake.wait_for(lambda: bot.outbox.dropped > 0)
        assert len(bot.outbox) <= 5
        assert engine.snapshot().state.mode == "paper"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_failing_api_is_retried_and_flood_control_is_obeyed(
    engine: Any, fake: FakeBotApi
) -> None:
    bot = TelegramBot(
        engine, bot_settings(fake), TOKEN, per_chat_interval_s=0.05, retry_backoff_s=0.2
    )
    task = asyncio.create_task(bot.run())
    try:
        fake.failures["getUpdates"] = 2
        fake.failures["sendMessage"] = 2
        fake.floods["sendMessage"] = 1
        fake.say(ME, "/status")
        status = await fake.wait_for(
            lambda: next((m for m in fake.sent(ME) if "equity" in m["text"]), None), timeout=20
        )
        assert status is not None
        assert bot.poll_errors >= 2
        refused = [c for c in fake.of("sendMessage") if not c.ok]
        assert len(refused) >= 3
        assert bot.outbox.flood_waits >= 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_messages_to_one_chat_are_spaced_a_second_apart(
    engine: Any, fake: FakeBotApi
) -> None:
    bot = TelegramBot(engine, bot_settings(fake, events=[]), TOKEN)  # 1 s per chat, as Telegram
    task = asyncio.create_task(bot.run())
    try:
        for _ in range(3):
            fake.say(ME, "/help")
        await fake.wait_for(lambda: len([m for m in fake.sent(ME) if "Commands" in m["text"]]) == 3)
        times = [c.at for c in fake.of("sendMessage") if c.ok]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert all(gap >= 0.95 for gap in gaps), gaps
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_daily_summary_and_feed_down_alerts(engine: Any, fake: FakeBotApi) -> None:
    clock = {"now": datetime(2026, 12, 1, 19, 59, tzinfo=UTC), "mono": 1000.0}
    bot = TelegramBot(
        engine,
        bot_settings(fake, events=["summary", "feeds"], feed_down_alert_s=60),
        TOKEN,
        now=lambda: clock["now"],
        monotonic=lambda: clock["mono"],
        per_chat_interval_s=0.05,
    )
    task = asyncio.create_task(bot.run())
    try:
        from polytui import events as ev
        from polytui.model import FeedState, FeedStatus

        def feed(state: FeedState) -> ev.FeedStatusChanged:
            return ev.FeedStatusChanged(
                (FeedStatus("clob", state, state is FeedState.LIVE, None, 0, 0, 3, 4),)
            )

        bot.on_event(feed(FeedState.DOWN))
        clock["mono"] += 30
        bot.tick()
        assert not any("Feed clob" in m["text"] for m in fake.sent(ME))
        clock["mono"] += 31
        bot.tick()
        await fake.wait_for(
            lambda: any("Feed clob down for 61 s" in m["text"] for m in fake.sent(ME))
        )
        clock["mono"] += 10
        bot.on_event(feed(FeedState.LIVE))
        await fake.wait_for(lambda: any("Feed clob back" in m["text"] for m in fake.sent(ME)))
        clock["now"] += timedelta(minutes=2)
        bot.tick()
        summary = await fake.wait_for(
            lambda: next((m for m in fake.sent(ME) if m["text"].startswith("Daily summary")), None)
        )
        assert "equity" in summary["text"] and "fills since the last summary" in summary["text"]
        bot.tick()  # once a day, not once a tick
        await asyncio.sleep(0.3)
        assert sum(m["text"].startswith("Daily summary") for m in fake.sent(ME)) == 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_fills_and_risk_refusals_are_reported(engine: Any, fake: FakeBotApi) -> None:
    # A tiny total-exposure limit: the first approval fills, later ones are refused by risk.
    bot = TelegramBot(engine, bot_settings(fake), TOKEN, per_chat_interval_s=0.05)
    task = asyncio.create_task(bot.run())
    try:
        prompt = await fake.wait_for(lambda: prompt_of(fake), timeout=40)
        query = fake.press(ME, prompt["message_id"], f"a:{intent_id_of(prompt)}")
        await fake.wait_for(lambda: fake.answered.get(query))
        fill = await fake.wait_for(
            lambda: next((m for m in fake.sent(ME) if m["text"].startswith("Filled")), None),
            timeout=20,
        )
        assert "fee" in fill["text"]
        tight = copy.deepcopy(engine.settings)
        tight.risk.max_total_exposure_usd = Decimal("0.01")
        tight.risk.max_market_exposure_usd = Decimal("0.01")
        engine.reload(tight)  # what SIGHUP does with a smaller limit in config.toml
        refused = await fake.wait_for(
            lambda: next(
                (m for m in fake.sent(ME) if m["text"].startswith("Refused by risk")), None
            ),
            timeout=40,
        )
        assert "risk:" in refused["text"]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_the_prompt_says_ttl_in_seconds_left() -> None:
    from polytui.model import Side
    from polytui.remote import messages

    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    intent = TradeIntent(
        id="int-1", signal_id="sig-1", token_id="t" * 70, condition_id="c", outcome="Yes",
        side=Side.BUY, shares=Decimal(20), limit_price=Decimal("0.52"),
        sized_price=Decimal("0.50"), usd=Decimal(10), whale_price=Decimal("0.48"),
        confidence=Decimal("0.8"), created_at=now, expires_at=now + timedelta(seconds=30),
        expected_fee_usd=Decimal("0.20"), market_question="Will it rain?",
        whale_edge=Decimal("0.16"), whale_edge_se=Decimal("0.03"), latency_tax=Decimal("0.02"),
        fee_per_share=Decimal("0.01"), net_edge=Decimal("0.126"),
    )  # fmt: skip
    text = messages.approval_text(intent, now)
    assert "TTL 30 s" in text and "Will it rain?" in text
    # the net edge that sized it, 0.126 a share, × 20 shares → +$2.52
    assert "net edge +$2.52" in text and "whale edge 0.16 ± 0.03" in text


async def test_the_console_hosting_its_engine_runs_the_bot_beside_it(
    sim: Any, fake: FakeBotApi, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What `polytui` (the console) does: remote_services(...).wrap(engine.run) is the engine
    # worker it runs.
    from polytui.config import LoadedConfig
    from polytui.remote.services import remote_services
    from polytui.wiring import build_engine
    from tests.remote.conftest import sim_settings

    for name, value in sim.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("POLYTUI_TELEGRAM_TOKEN", TOKEN)
    settings = sim_settings(sim, tmp_path / "data")
    settings.telegram = bot_settings(fake)
    hosted = build_engine(LoadedConfig(settings, None))
    services = remote_services(settings, hosted)
    task = asyncio.create_task(services.wrap(hosted.run)())
    try:
        await fake.wait_for(lambda: fake.of("getUpdates"), timeout=10)
        fake.say(ME, "/pause")
        await fake.wait_for(lambda: hosted.snapshot().state.paused)
    finally:
        await hosted.stop()
        await asyncio.wait_for(task, 20)
        hosted.journal.close()
    assert all(t.done() for t in services._tasks) or not services._tasks
