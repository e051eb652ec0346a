"""A loopback Telegram Bot API: the methods the bot uses, with the real shapes and refusals.

``POST /bot<TOKEN>/<method>`` with a JSON body answers ``{"ok": true, "result": …}`` or
``{"ok": false, "error_code": …, "description": …, "parameters": {"retry_after": …}}``.
getUpdates long-polls and forgets updates below ``offset``; sendMessage checks the text length
and the inline keyboard's 1–64-byte callback_data; answerCallbackQuery only knows ids of presses
it delivered, once; editMessageText only edits messages it sent, and refuses an unchanged text
("message is not modified"). Faults are injected per method: a delay, N failures (HTTP 500),
or flood control (429 with retry_after).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "123456789:AAFakeTokenForLoopbackTestsOnly-xyz_0"


@dataclass
class Call:
    """One method call the fake answered (or refused)."""

    method: str
    params: dict[str, Any]
    at: float
    ok: bool = True


@dataclass
class FakeBotApi:
    """The server and everything it saw."""

    token: str = TOKEN
    calls: list[Call] = field(default_factory=list)
    messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    floods: dict[str, int] = field(default_factory=dict)
    answered: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1000)
        self._message_ids = itertools.count(1)
        self._callback_ids = itertools.count(5000)
        self._callbacks: set[str] = set()
        self._new = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    # --- serving --------------------------------------------------------------------------

    async def start(self) -> FakeBotApi:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return _refuse(401, "Unauthorized")
        try:
            params = await request.json()
        except ValueError:
            return _refuse(400, "Bad Request: invalid JSON")
        call = Call(method, params, time.monotonic())
        self.calls.append(call)
        if self.delays.get(method):
            await asyncio.sleep(self.delays[method])
        if self.floods.get(method):
            self.floods[method] -= 1
            call.ok = False
            return _refuse(429, "Too Many Requests: retry after 1", retry_after=1)
        if self.failures.get(method):
            self.failures[method] -= 1
            call.ok = False
            return _refuse(500, "Internal Server Error")
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return _refuse(404, "Not Found")
        answer = await handler(params)
        if isinstance(answer, web.Response):
            call.ok = False
            return answer
        return web.json_response({"ok": True, "result": answer})

    # --- methods --------------------------------------------------------------------------

    async def _m_getUpdates(self, params: dict[str, Any]) -> Any:
        offset = int(params.get("offset", 0))
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        timeout = float(params.get("timeout", 0))
        if not self._updates and timeout > 0:
            self._new.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), timeout)
        return self._updates[: int(params.get("limit", 100))]

    async def _m_sendMessage(self, params: dict[str, Any]) -> Any:
        text = params.get("text")
        if not isinstance(text, str) or not 1 <= len(text) <= 4096:
            return _refuse(400, "Bad Request: message text is empty or too long")
        markup = params.get("reply_markup")
        if markup is not None:
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    data = button.get("callback_data", "")
                    if not 1 <= len(data.encode()) <= 64:
                        return _refuse(400, "Bad Request: BUTTON_DATA_INVALID")
        chat = int(params["chat_id"])
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private"},
            "text": text,
        }
        if markup is not None:
            message["reply_markup"] = markup
        self.messages[(chat, message["message_id"])] = message
        return message

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        query_id = params.get("callback_query_id")
        if query_id not in self._callbacks:
            return _refuse(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self._callbacks.discard(query_id)
        if len(params.get("text", "")) > 200:
            return _refuse(400, "Bad Request: text is too long")
        self.answered[query_id] = params
        return True

    async def _m_editMessageText(self, params: dict[str, Any]) -> Any:
        key = (int(params["chat_id"]), int(params["message_id"]))
        message = self.messages.get(key)
        if message is None:
            return _refuse(400, "Bad Request: message to edit not found")
        if message["text"] == params.get("text") and "reply_markup" not in message:
            return _refuse(400, "Bad Request: message is not modified")
        message["text"] = params["text"]
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        else:
            message.pop("reply_markup", None)
        return message

    # --- what users do --------------------------------------------------------------------

    def _push(self, update: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), **update}
        self._updates.append(update)
        self._new.set()
        return update

    def say(self, chat: int, text: str, *, user: int | None = None, age_s: int = 0) -> None:
        """A user types ``text`` in ``chat``."""
        self._push(
            {
                "message": {
                    "message_id": next(self._message_ids),
                    "date": int(time.time()) - age_s,
                    "chat": {"id": chat, "type": "private"},
                    "from": {"id": user if user is not None else chat, "is_bot": False},
                    "text": text,
                }
            }
        )

    def press(self, chat: int, message_id: int, data: str, *, user: int | None = None) -> str:
        """A user presses a button of message ``message_id``; the callback query id."""
        query_id = str(next(self._callback_ids))
        self._callbacks.add(query_id)
        self.redeliver(query_id, chat, message_id, data, user=user)
        return query_id

    def redeliver(
        self, query_id: str, chat: int, message_id: int, data: str, *, user: int | None = None
    ) -> None:
        """The same press delivered again (a new update carrying the same callback query)."""
        self._push(
            {
                "callback_query": {
                    "id": query_id,
                    "from": {"id": user if user is not None else chat, "is_bot": False},
                    "chat_instance": "42",
                    "message": {"message_id": message_id, "chat": {"id": chat}},
                    "data": data,
                }
            }
        )

    # --- reading what the bot did ---------------------------------------------------------

    def sent(self, chat: int | None = None) -> list[dict[str, Any]]:
        """Messages the bot sent (newest text after edits), oldest first."""
        return [m for (c, _), m in sorted(self.messages.items()) if chat is None or c == chat]

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, predicate: Any, timeout: float = 10.0) -> Any:
        """The first truthy ``predicate()``, polled until ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError("the fake Bot API never saw that")
            await asyncio.sleep(0.02)


def _refuse(status: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=status)
