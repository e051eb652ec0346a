"""A loopback server speaking the Anthropic Messages API and OpenAI chat completions.

Each model name has a script of behaviours, used in turn (the last one repeats): ``Json(obj)``
(a valid structured answer), ``Text(raw)`` (whatever text, e.g. malformed JSON), ``Refuse(why)``
(the dialect's refusal), ``Limit(retry_after)`` (HTTP 429 with ``retry-after``) and
``Slow(delay_s, obj)`` (a valid answer after a delay). Every request is recorded (path, headers,
body) so tests can check what the official SDKs sent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Json:
    obj: Any
    input_tokens: int = 120
    output_tokens: int = 40


@dataclass(frozen=True)
class Text:
    raw: str


@dataclass(frozen=True)
class Refuse:
    why: str = "I can't help with that."


@dataclass(frozen=True)
class Limit:
    retry_after: str = "30"


@dataclass(frozen=True)
class Slow:
    delay_s: float
    obj: Any


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class LlmServer:
    scripts: dict[str, list[Any]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    base: str = ""
    _turn: dict[str, int] = field(default_factory=dict)

    def next_for(self, model: str) -> Any:
        script = self.scripts.get(model) or [Json({"error": "no script"})]
        i = self._turn.get(model, 0)
        self._turn[model] = i + 1
        return script[min(i, len(script) - 1)]

    def seen(self, model: str) -> list[Request]:
        return [r for r in self.requests if r.body.get("model") == model]

    async def _handle(self, request: web.Request, dialect: str) -> web.Response:
        body = await request.json()
        self.requests.append(
            Request(request.path, {k.lower(): v for k, v in request.headers.items()}, body)
        )
        behaviour = self.next_for(str(body.get("model")))
        if isinstance(behaviour, Slow):
            await asyncio.sleep(behaviour.delay_s)
            behaviour = Json(behaviour.obj)
        if isinstance(behaviour, Limit):
            error = (
                {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}
                if dialect == "anthropic"
                else {"error": {"message": "slow down", "type": "rate_limit_exceeded"}}
            )
            return web.json_response(
                error, status=429, headers={"retry-after": behaviour.retry_after}
            )
        model = str(body.get("model"))
        if dialect == "anthropic":
            return web.json_response(_message(model, behaviour))
        return web.json_response(_completion(model, behaviour))

    async def messages(self, request: web.Request) -> web.Response:
        return await self._handle(request, "anthropic")

    async def chat(self, request: web.Request) -> web.Response:
        return await self._handle(request, "openai")


def _text_of(behaviour: Any) -> str:
    if isinstance(behaviour, Json):
        return json.dumps(behaviour.obj)
    if isinstance(behaviour, Text):
        return behaviour.raw
    return ""


def _message(model: str, behaviour: Any) -> dict[str, Any]:
    tokens = (
        (behaviour.input_tokens, behaviour.output_tokens)
        if isinstance(behaviour, Json)
        else (100, 10)
    )
    out: dict[str, Any] = {
        "id": "msg_loopback",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": _text_of(behaviour)}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": tokens[0], "output_tokens": tokens[1]},
    }
    if isinstance(behaviour, Refuse):
        out["content"] = []
        out["stop_reason"] = "refusal"
        out["stop_details"] = {"type": "refusal", "category": None, "explanation": behaviour.why}
    return out


def _completion(model: str, behaviour: Any) -> dict[str, Any]:
    tokens = (
        (behaviour.input_tokens, behaviour.output_tokens)
        if isinstance(behaviour, Json)
        else (100, 10)
    )
    message: dict[str, Any] = {"role": "assistant", "content": _text_of(behaviour), "refusal": None}
    if isinstance(behaviour, Refuse):
        message = {"role": "assistant", "content": None, "refusal": behaviour.why}
    return {
        "id": "chatcmpl-loopback",
        "object": "chat.completion",
        "created": 1_764_547_200,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}],
        "usage": {
            "prompt_tokens": tokens[0],
            "completion_tokens": tokens[1],
            "total_tokens": tokens[0] + tokens[1],
        },
    }


@asynccontextmanager
async def llm_server() -> AsyncIterator[LlmServer]:
    server = LlmServer()
    app = web.Application()
    app.router.add_post("/v1/messages", server.messages)
    app.router.add_post("/v1/chat/completions", server.chat)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server.base = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()
