"""The Telegram bot: engine events out as alerts and approval prompts, commands and buttons in.

It talks to the engine only through ``EngineAPI`` — ``snapshot``, ``subscribe`` and
``command`` — the same calls the control socket makes, so an Approve button runs the engine's
own approval path (risk is checked again with fresh numbers) and nothing here decides a trade.

Safety, in order: only chats *and* users listed in ``allowed_chat_ids`` are obeyed (a private
chat's id is the user's id; a group needs its id and each member's); everything else is
refused, counted and logged. Each callback is handled once (Telegram re-sends updates until an
``offset`` confirms them). The kill switch needs a second press on a confirmation button that
works once, for one minute. Commands older than two minutes when they arrive (queued while the
bot was down) are ignored rather than obeyed late.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from polytui import events as ev
from polytui.api import EngineAPI
from polytui.model import ZERO, EngineState, FeedState, IntentStatus, TradeIntent
from polytui.remote import messages as msg
from polytui.remote.botapi import BotApi, BotApiError
from polytui.remote.outbox import Outbox, Outgoing
from polytui.settings import TelegramSettings

log = logging.getLogger(__name__)

ANSWER_WITHIN_S = 0.8
KILL_CONFIRM_S = 60.0
STALE_COMMAND_S = 120.0
SEEN_CALLBACKS = 1000
EVENTS_PER_SLICE = 100
POLL_BACKOFF_CAP_S = 30.0
NOT_LIVE = (FeedState.DOWN, FeedState.DEGRADED, FeedState.CONNECTING)


def _now() -> datetime:
    return datetime.now(UTC)


class TelegramBot:
    """Runs the bot for one engine until cancelled."""

    def __init__(
        self,
        engine: EngineAPI,
        settings: TelegramSettings,
        token: str,
        *,
        api: BotApi | None = None,
        now: Callable[[], datetime] = _now,
        monotonic: Callable[[], float] = time.monotonic,
        per_chat_interval_s: float = 1.0,
        retry_backoff_s: float = 2.0,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.api = api or BotApi(settings.api_base_url, token)
        self.outbox = Outbox(
            self.api,
            settings.queue_size,
            per_chat_interval_s=per_chat_interval_s,
            retry_backoff_s=retry_backoff_s,
        )
        self.allowed = {int(c) for c in settings.allowed_chat_ids}
        self.events = set(settings.events)
        self.now = now
        self.monotonic = monotonic
        self.offset = 0
        self.updates = 0
        self.refused = 0
        self.replayed = 0
        self.stale = 0
        self.poll_errors = 0
        self.started_at = now()
        self._seen_callbacks: OrderedDict[str, None] = OrderedDict()
        self._prompts: dict[str, list[tuple[int, int]]] = {}
        self._intents: dict[str, TradeIntent] = {}
        self._risk_alerted: OrderedDict[str, None] = OrderedDict()
        self._kill_nonces: dict[str, float] = {}
        self._state: EngineState | None = None
        self._down_since: dict[str, float] = {}
        self._down_alerted: set[str] = set()
        self._feeds: dict[str, Any] = {}
        self._fills_since_summary = 0
        self._fees_since_summary = ZERO
        self._next_summary = self._summary_after(self.started_at)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.sub: Any = None  # the bus subscription while running (its ``dropped`` counts)

    # --- running ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Subscribe, prompt what is pending already, then poll, send and watch until cancelled."""
        sub = self.sub = self.engine.subscribe(maxsize=2_000)
        snapshot = self.engine.snapshot()
        self._state = snapshot.state
        for intent in snapshot.intents:
            self.on_event(ev.IntentUpdated(intent))
        log.info(
            "telegram bot started for %d allowed chat(s)",
            len(self.allowed),
            extra={"event": "telegram_started"},
        )
        jobs = [self.outbox.run(), self._poll_loop(), self._tick_loop()]
        tasks = [asyncio.create_task(j, name="telegram") for j in jobs]
        try:
            while not sub.closed:
                for n, event in enumerate(await sub.wait(timeout=1.0), 1):
                    try:
                        self.on_event(event)
                    except Exception:  # one bad event must not silence the bot
                        log.exception("telegram: cannot handle %s", type(event).__name__)
                    if n % EVENTS_PER_SLICE == 0:
                        await asyncio.sleep(0)  # a burst never holds the loop for long
        finally:
            sub.close()
            for task in (*tasks, *self._tasks):
                task.cancel()
            await asyncio.gather(*tasks, *self._tasks, return_exceptions=True)
            await self.api.close()

    def _send(
        self,
        text: str,
        *,
        urgent: bool = False,
        markup: Any = None,
        on_sent: Callable[[int, Any], Any] | None = None,
        chats: Any = None,
    ) -> None:
        for chat in sorted(chats if chats is not None else self.allowed):
            params: dict[str, Any] = {"chat_id": chat, "text": msg.cut(text)}
            if markup is not None:
                params["reply_markup"] = markup
            done = functools.partial(on_sent, chat) if on_sent is not None else None
            self.outbox.put(Outgoing(chat, "sendMessage", params, urgent=urgent, on_sent=done))

    # --- engine events → messages -------------------------------------------------------------

    def on_event(self, event: ev.Event) -> None:
        """One engine event → at most a few queued messages (never waits)."""
        if isinstance(event, ev.IntentUpdated):
            self._intent(event.intent)
        elif isinstance(event, ev.SignalUpdated):
            signal = event.signal
            if signal.reason.startswith("risk:") and self._first_risk(f"signal:{signal.id}"):
                self._send(msg.risk_signal_text(signal))
        elif isinstance(event, ev.FillReceived):
            self._fills_since_summary += 1
            self._fees_since_summary += event.fill.fee_usd
            if "fills" in self.events:
                intent = self._intents.get(event.fill.intent_id)
                question = intent.market_question if intent else ""
                self._send(msg.fill_text(event.fill, question))
        elif isinstance(event, ev.EngineStateChanged):
            text = msg.state_change_text(self._state, event.state)
            self._state = event.state
            if text and "halts" in self.events:
                self._send(text, urgent=True)
        elif isinstance(event, ev.FeedStatusChanged):
            self._watch_feeds(event.feeds)

    def _first_risk(self, key: str) -> bool:
        if "risk" not in self.events or key in self._risk_alerted:
            return False
        self._risk_alerted[key] = None
        if len(self._risk_alerted) > SEEN_CALLBACKS:
            self._risk_alerted.popitem(last=False)
        return True

    def _intent(self, intent: TradeIntent) -> None:
        known = intent.id in self._intents
        self._intents[intent.id] = intent
        if len(self._intents) > 2_000:
            self._intents.pop(next(iter(self._intents)))
        if intent.status is IntentStatus.PENDING:
            if not known and "approvals" in self.events and intent.expires_at > self.now():
                self._prompt(intent)
            return
        if intent.id in self._prompts:
            for chat, message_id in self._prompts[intent.id]:
                self._edit(chat, message_id, intent)
            if intent.status is not IntentStatus.APPROVED:  # approved: the fill edits again
                del self._prompts[intent.id]
        if (
            intent.status is IntentStatus.REJECTED
            and intent.reason.startswith("risk:")
            and self._first_risk(f"intent:{intent.id}")
        ):
            self._send(msg.risk_intent_text(intent))

    def _prompt(self, intent: TradeIntent) -> None:
        self._prompts[intent.id] = []
        markup = None
        if len(f"a:{intent.id}".encode()) <= msg.MAX_CALLBACK_DATA:
            markup = {
                "inline_keyboard": [
                    [
                        {"text": "Approve", "callback_data": f"a:{intent.id}"},
                        {"text": "Reject", "callback_data": f"r:{intent.id}"},
                    ]
                ]
            }

        def sent(chat: int, result: Any) -> None:
            message_id = result.get("message_id") if isinstance(result, dict) else None
            if not isinstance(message_id, int):
                return
            latest = self._intents.get(intent.id)
            if latest is not None and latest.status is not IntentStatus.PENDING:
                self._edit(chat, message_id, latest)  # decided before the prompt went out
            if intent.id in self._prompts:
                self._prompts[intent.id].append((chat, message_id))

        self._send(msg.approval_text(intent, self.now()), urgent=True, markup=markup, on_sent=sent)

    def _edit(self, chat: int, message_id: int, intent: TradeIntent) -> None:
        # editMessageText without reply_markup also removes the buttons.
        params = {
            "chat_id": chat,
            "message_id": message_id,
            "text": msg.decided_text(intent, self.now()),
        }
        self.outbox.put(Outgoing(chat, "editMessageText", params, urgent=True))

    def _watch_feeds(self, feeds: tuple[Any, ...]) -> None:
        now = self.monotonic()
        for feed in feeds:
            self._feeds[feed.name] = feed
            if feed.state in NOT_LIVE:
                self._down_since.setdefault(feed.name, now)
                continue
            since = self._down_since.pop(feed.name, None)
            if feed.name in self._down_alerted and since is not None:
                self._down_alerted.discard(feed.name)
                if "feeds" in self.events:
                    self._send(msg.feed_back_text(feed, now - since))
        self._check_feeds()

    def _check_feeds(self) -> None:
        now = self.monotonic()
        for name, since in self._down_since.items():
            down_s = now - since
            if name in self._down_alerted or down_s < self.settings.feed_down_alert_s:
                continue
            self._down_alerted.add(name)
            if "feeds" in self.events:
                self._send(msg.feed_down_text(self._feeds[name], down_s), urgent=True)

    def _summary_after(self, moment: datetime) -> datetime:
        hour, minute = (int(x) for x in self.settings.summary_at_utc.split(":"))
        at = moment.replace(hour=hour, minute=minute, second=0, microsecond=0)
        return at if at > moment else at + timedelta(days=1)

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.tick()

    def tick(self) -> None:
        """Once a second: feeds down too long, the daily summary."""
        self._check_feeds()
        now = self.now()
        if now >= self._next_summary:
            self._next_summary = self._summary_after(now)
            if "summary" in self.events:
                self.send_summary()

    def send_summary(self) -> None:
        """Queue the daily summary and start counting the next day's fills."""
        text = msg.summary_text(
            self.engine.snapshot(),
            self._fills_since_summary,
            self._fees_since_summary,
            self.outbox.dropped,
        )
        self._fills_since_summary, self._fees_since_summary = 0, Decimal(0)
        self._send(text)

    # --- updates in ---------------------------------------------------------------------------

    async def _poll_loop(self) -> None:
        backoff = 1.0
        timeout_s = self.settings.poll_timeout_s
        while True:
            try:
                updates = await self.api.call(
                    "getUpdates",
                    {
                        "offset": self.offset,
                        "timeout": timeout_s,
                        "allowed_updates": ["message", "callback_query"],
                    },
                    timeout_s=timeout_s + 10,
                )
            except BotApiError as exc:
                self.poll_errors += 1
                hint = ""
                if exc.status == 409:
                    hint = " (a webhook or another poller uses this bot token)"
                log.warning(
                    "telegram getUpdates failed: %s%s; retrying in %.0f s",
                    exc.description,
                    hint,
                    backoff,
                    extra={"event": "telegram_poll_failed"},
                )
                await asyncio.sleep(exc.retry_after_s or backoff)
                backoff = min(backoff * 2, POLL_BACKOFF_CAP_S)
                continue
            backoff = 1.0
            for update in updates if isinstance(updates, list) else []:
                if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
                    continue
                self.offset = max(self.offset, update["update_id"] + 1)
                self.updates += 1
                try:
                    await self.handle_update(update)
                except Exception:  # a malformed update must not stop polling
                    log.exception("telegram: cannot handle update %s", update.get("update_id"))

    def _allowed(self, chat_id: Any, user_id: Any, what: str) -> bool:
        if chat_id in self.allowed and user_id in self.allowed:
            return True
        self.refused += 1
        log.warning(
            "telegram: refused %s from chat %s, user %s (not in allowed_chat_ids)",
            what,
            chat_id,
            user_id,
            extra={"event": "telegram_refused", "fields": {"chat": chat_id, "user": user_id}},
        )
        return False

    async def handle_update(self, update: dict[str, Any]) -> None:
        """One update: a command message or a button press."""
        if isinstance(update.get("callback_query"), dict):
            await self._callback(update["callback_query"])
        elif isinstance(update.get("message"), dict):
            await self._message(update["message"])

    async def _message(self, message: dict[str, Any]) -> None:
        chat = (message.get("chat") or {}).get("id")
        user = (message.get("from") or {}).get("id")
        text = message.get("text")
        if not self._allowed(chat, user, "a message") or not isinstance(text, str):
            return
        assert isinstance(chat, int)
        date = message.get("date")
        if isinstance(date, int) and self.now().timestamp() - date > STALE_COMMAND_S:
            self.stale += 1
            log.info("telegram: ignored a command sent %d s ago", self.now().timestamp() - date)
            return
        command = text.strip().split()[0].split("@")[0].lower() if text.strip() else ""
        reply = await self._command(command, chat)
        if reply:
            self._send(reply, chats=[chat], urgent=True)

    async def _command(self, command: str, chat: int) -> str | None:
        if command == "/status":
            return msg.status_text(self.engine.snapshot())
        if command == "/positions":
            return msg.positions_text(self.engine.snapshot().positions)
        if command in ("/pause", "/resume"):
            result = await self.engine.command(command[1:])
            return result.message
        if command == "/kill":
            nonce = secrets.token_hex(8)
            self._kill_nonces[nonce] = self.monotonic() + KILL_CONFIRM_S
            button = {"text": "Confirm kill", "callback_data": f"k:{nonce}"}
            markup = {"inline_keyboard": [[button]]}
            self._send(
                "Kill switch: pause, reject every pending trade and cancel open orders. "
                "A restart is needed to trade again. Confirm within 60 s.",
                chats=[chat], urgent=True, markup=markup,
            )  # fmt: skip
            return None
        return msg.HELP_TEXT

    async def _callback(self, query: dict[str, Any]) -> None:
        query_id = query.get("id")
        if not isinstance(query_id, str):
            return
        if query_id in self._seen_callbacks:
            self.replayed += 1  # the same press delivered again: handled once already
            return
        self._seen_callbacks[query_id] = None
        if len(self._seen_callbacks) > SEEN_CALLBACKS:
            self._seen_callbacks.popitem(last=False)
        user = (query.get("from") or {}).get("id")
        chat = ((query.get("message") or {}).get("chat") or {}).get("id")
        if not self._allowed(chat, user, "a button press"):
            await self._answer(query_id, "Not allowed.")
            return
        data = query.get("data")
        kind, _, ref = (data if isinstance(data, str) else "").partition(":")
        if kind in ("a", "r") and ref:
            name = "approve" if kind == "a" else "reject"
            args: dict[str, str] = {"intent_id": ref}
            if name == "reject":
                args["reason"] = "rejected from Telegram"
            await self._run_and_answer(query_id, name, args)
        elif kind == "k":
            if self._kill_nonces.pop(ref, 0.0) < self.monotonic():
                await self._answer(query_id, "This confirmation expired; send /kill again.")
                return
            await self._run_and_answer(query_id, "kill", {})
        else:
            await self._answer(query_id, "Unknown button.")

    async def _run_and_answer(self, query_id: str, name: str, args: dict[str, str]) -> None:
        """Run an engine command; answer the press within a second whatever it takes."""
        task = asyncio.create_task(self.engine.command(name, **args))
        done, _ = await asyncio.wait({task}, timeout=ANSWER_WITHIN_S)
        if done:
            result = task.result()
            await self._answer(query_id, result.message, alert=not result.ok)
            return
        self._tasks.add(task)  # the prompt is edited when the engine publishes the outcome
        task.add_done_callback(self._tasks.discard)
        await self._answer(query_id, f"{name} sent; the engine is still working on it")

    async def _answer(self, query_id: str, text: str, *, alert: bool = False) -> None:
        # Straight to the API, not through the queue: the client shows a spinner until this
        # arrives, and the query id expires about 15 s after the press.
        params: dict[str, Any] = {
            "callback_query_id": query_id,
            "text": msg.cut(text, msg.MAX_ANSWER),
        }
        if alert:
            params["show_alert"] = True
        with contextlib.suppress(BotApiError):
            await self.api.call("answerCallbackQuery", params, timeout_s=5.0)
