"""A flood of alert-worthy events with the Telegram bot subscribed and a slow Bot API.

10^5 fills are published on a real engine's bus (three allowed chats, every one an alert) while
the loopback Bot API takes 200 ms per sendMessage. Figures: the cost of ``publish`` per event
with the bot subscribed against the same run without it, the event loop's worst stall (what
the feeds feel), what the bot's bounded queue sent and dropped, and how long a button press
waited for its answer in the middle of the flood (answers bypass the queue).

Run: ``python -m bench.telegram_flood`` (``--smoke``: 5,000 events).
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bench.harness import StallMeter, count_for, report, throwaway_engine
from polytui import events as ev
from polytui.model import Fill, Side
from polytui.remote.telegram import TelegramBot
from polytui.settings import TelegramSettings
from tests.remote.fakebot import TOKEN, FakeBotApi

EVENTS = 100_000
SMOKE_EVENTS = 5_000
CHATS = [101, 102, 103]


def _fill(i: int) -> ev.FillReceived:
    return ev.FillReceived(
        Fill(
            id=f"fill-{i}", order_id=f"ord-{i}", intent_id=f"int-{i}", token_id="t" * 20,
            condition_id="c", side=Side.BUY, shares=Decimal(10), avg_price=Decimal("0.5"),
            fee_usd=Decimal("0.01"), filled_at=datetime.now(UTC),
        )
    )  # fmt: skip


async def _run(count: int, with_bot: bool) -> dict[str, Any]:
    async with throwaway_engine("pbt") as (engine, _):
        return await _flood(engine, count, with_bot)


async def _flood(engine: Any, count: int, with_bot: bool) -> dict[str, Any]:
    fake = await FakeBotApi().start()
    fake.delays["sendMessage"] = 0.2
    bot = None
    task = None
    if with_bot:
        bot_settings = TelegramSettings(
            enabled=True, allowed_chat_ids=CHATS, api_base_url=fake.url, poll_timeout_s=1
        )
        bot = TelegramBot(engine, bot_settings, TOKEN)
        task = asyncio.create_task(bot.run())
        await fake.wait_for(lambda: fake.of("getUpdates"))
    try:
        async with StallMeter() as stall:
            publish_s, press_wait_ms = await _publish(engine, fake, count, with_bot)
            await asyncio.sleep(1.0)
    finally:
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await fake.stop()
    figures: dict[str, Any] = {
        "publish_us_per_event": round(publish_s / count * 1e6, 2),
        "max_loop_stall_ms": stall.worst_ms,
    }
    if bot is not None:
        figures |= {
            "queued_max": bot.outbox.maxsize,
            "sent": bot.outbox.sent,
            "dropped": bot.outbox.dropped,
            "bus_dropped": bot.sub.dropped if bot.sub is not None else None,
            "press_answered_ms": press_wait_ms,
        }
    return figures


async def _publish(
    engine: Any, fake: FakeBotApi, count: int, with_bot: bool
) -> tuple[float, float | None]:
    """(seconds spent in ``publish``, ms a button press waited mid-flood) for ``count`` fills."""
    press_wait_ms = None
    publish_s = 0.0
    events = [_fill(i) for i in range(count)]
    for start in range(0, count, 500):
        t0 = time.perf_counter()
        for event in events[start : start + 500]:
            engine.bus.publish(event)
        publish_s += time.perf_counter() - t0
        await asyncio.sleep(0)  # the bot's consumer runs between bursts, as the engine's would
        if with_bot and start == count // 2:
            query = fake.press(CHATS[0], 1, "a:int-unknown")
            pressed = time.monotonic()
            await fake.wait_for(lambda q=query: fake.answered.get(q))
            press_wait_ms = round((time.monotonic() - pressed) * 1000, 1)
    return publish_s, press_wait_ms


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run, print and return the figures."""
    count = count_for(argv, EVENTS, SMOKE_EVENTS)
    baseline = asyncio.run(_run(count, with_bot=False))
    with_bot = asyncio.run(_run(count, with_bot=True))
    result = {
        "bench": "telegram_flood",
        "events": count,
        "baseline_no_bot": baseline,
        "with_bot_slow_api": with_bot,
    }
    return report(result)


if __name__ == "__main__":
    main(sys.argv[1:])
