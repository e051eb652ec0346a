"""The two official SDKs behind one call: a system and a user message in, JSON text out.

``anthropic`` speaks the Messages API (``POST {base}/v1/messages``, structured output through
``output_config.format``); ``openai`` speaks chat completions (``POST {base}/chat/completions``,
``response_format`` json_schema, strict), which any OpenAI-compatible server answers, Ollama's
``http://localhost:11434/v1`` included (HISTORY-MEMPOOL-REMOTE.md §4). The SDKs are imported here
and only when a client is built, so polytui without the ``advisors`` extra never loads them.
Every failure becomes an :class:`AdvisorFailure` with a kind the panel counts; the SDKs' own
retries are off (``max_retries=0``): a 429 is answered by a cool-down, never by a retry storm.
"""

from __future__ import annotations

import importlib
import logging
import math
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from polytui.settings import AdvisorEntry

INSTALL_HINT = "pip install 'polytui[advisors]'"
# Failure kinds, as counted per advisor and shown in health.
RATE_LIMITED = "rate_limited"
TIMEOUT = "timeout"
REFUSED = "refused"
MALFORMED = "malformed"
SCHEMA = "schema"
ERROR = "error"


class AdvisorSetupError(RuntimeError):
    """An advisor that cannot be built (SDK missing, key unset); the message says the fix."""


class AdvisorFailure(Exception):
    """One request that gave no usable answer, with what it cost and when to try again."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        retry_after_s: float | None = None,
        input_tokens: int = 0,
        output_tokens: int = 0,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_after_s = retry_after_s
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens


@dataclass(frozen=True, slots=True)
class Reply:
    """A model's answer: its text (JSON expected) and the tokens it was billed."""

    text: str
    input_tokens: int
    output_tokens: int
    stop: str
    model: str


def load_sdk(kind: str) -> Any:
    """The SDK module for ``kind``, or an error that says what to install."""
    try:
        return importlib.import_module(kind)
    except ImportError:
        raise AdvisorSetupError(
            f"advisors of kind {kind!r} need the {kind} SDK, which is not installed: {INSTALL_HINT}"
        ) from None


def retry_after_s(headers: Any) -> float | None:
    """Seconds to wait from ``retry-after-ms`` / ``retry-after`` (seconds or an HTTP date)."""
    if headers is None:
        return None
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            value = float(raw_ms) / 1000
            return value if math.isfinite(value) and value >= 0 else None
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        value = float(raw)
        return value if math.isfinite(value) and value >= 0 else None
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    from datetime import UTC, datetime

    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class SdkClient:
    """One configured advisor's SDK client (async)."""

    def __init__(self, entry: AdvisorEntry, api_key: str) -> None:
        self.entry = entry
        self.sdk = load_sdk(entry.kind)
        options: dict[str, Any] = {
            # A local server wants no key, but both SDKs insist on one (any string will do).
            "api_key": api_key or "unused",
            "timeout": entry.timeout_s,
            "max_retries": 0,
        }
        if entry.base_url:
            options["base_url"] = entry.base_url
        if entry.kind == "anthropic":
            self.client = self.sdk.AsyncAnthropic(**options)
        else:
            self.client = self.sdk.AsyncOpenAI(**options)
        self._warm()

    def _warm(self) -> None:
        """Do the SDKs' first-use work now, when the engine is built, not on its loop.

        Both import their resource modules on first use and build their response models'
        validators on the first answer (0.2-0.9 s together, measured on the loopback bench).
        """
        usage = {"input_tokens": 1, "output_tokens": 1}
        try:
            importlib.import_module("anyio._backends._asyncio")  # the SDKs' first await imports it
            if self.entry.kind == "anthropic":
                self.client.messages.create  # noqa: B018 - the lazy import is the point
                self.sdk.types.Message.model_validate(
                    {"id": "m", "type": "message", "role": "assistant", "model": "m",
                     "content": [{"type": "text", "text": "{}"}], "stop_reason": "end_turn",
                     "usage": usage}
                )  # fmt: skip
            else:
                self.client.chat.completions.create  # noqa: B018
                self.sdk.types.chat.ChatCompletion.model_validate(
                    {"id": "c", "object": "chat.completion", "created": 0, "model": "m",
                     "choices": [{"index": 0, "finish_reason": "stop",
                                  "message": {"role": "assistant", "content": "{}"}}],
                     "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
                )  # fmt: skip
        except Exception as exc:  # warming is an optimisation; a request still works without it
            logging.getLogger(__name__).debug("advisor SDK warm-up skipped: %s", exc)

    async def close(self) -> None:
        """Close the SDK's HTTP connections."""
        await self.client.close()

    async def complete(
        self, *, system: str, user: str, schema: dict[str, Any], name: str, max_tokens: int
    ) -> Reply:
        """Ask once; raises :class:`AdvisorFailure` for anything but a usable reply."""
        try:
            if self.entry.kind == "anthropic":
                return await self._messages(system, user, schema, max_tokens)
            return await self._chat(system, user, schema, name, max_tokens)
        except AdvisorFailure:
            raise
        except self.sdk.RateLimitError as exc:
            wait = retry_after_s(getattr(exc.response, "headers", None))
            raise AdvisorFailure(RATE_LIMITED, "rate limited (429)", retry_after_s=wait) from None
        except self.sdk.APITimeoutError:
            raise AdvisorFailure(TIMEOUT, f"no answer within {self.entry.timeout_s:g} s") from None
        except self.sdk.APIStatusError as exc:
            raise AdvisorFailure(ERROR, f"HTTP {exc.status_code}") from None
        except self.sdk.APIConnectionError as exc:
            raise AdvisorFailure(ERROR, f"connection failed: {type(exc).__name__}") from None
        except self.sdk.APIError as exc:  # a body the SDK could not read
            raise AdvisorFailure(MALFORMED, f"unreadable response: {type(exc).__name__}") from None
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise AdvisorFailure(MALFORMED, f"unreadable response: {type(exc).__name__}") from None

    async def _messages(
        self, system: str, user: str, schema: dict[str, Any], max_tokens: int
    ) -> Reply:
        message = await self.client.messages.create(
            model=self.entry.model,
            max_tokens=max_tokens,
            system=system,
            messages=[{"role": "user", "content": user}],
            output_config={"format": {"type": "json_schema", "schema": schema}},
        )
        usage = message.usage
        tokens_in = int(usage.input_tokens) if usage is not None else 0
        tokens_out = int(usage.output_tokens) if usage is not None else 0
        if message.stop_reason == "refusal":
            details = getattr(message, "stop_details", None)
            why = getattr(details, "explanation", None) or getattr(details, "category", None)
            raise AdvisorFailure(
                REFUSED,
                f"refused{': ' + str(why) if why else ''}",
                input_tokens=tokens_in,
                output_tokens=tokens_out,
            )
        text = "".join(
            getattr(block, "text", "") for block in message.content if block.type == "text"
        )
        return Reply(text, tokens_in, tokens_out, str(message.stop_reason), str(message.model))

    async def _chat(
        self, system: str, user: str, schema: dict[str, Any], name: str, max_tokens: int
    ) -> Reply:
        completion = await self.client.chat.completions.create(
            model=self.entry.model,
            max_tokens=max_tokens,
            messages=[
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            response_format={
                "type": "json_schema",
                "json_schema": {"name": name, "schema": schema, "strict": True},
            },
        )
        usage = completion.usage
        tokens_in = int(usage.prompt_tokens) if usage is not None else 0
        tokens_out = int(usage.completion_tokens) if usage is not None else 0
        if not completion.choices:
            raise AdvisorFailure(
                MALFORMED, "no choices", input_tokens=tokens_in, output_tokens=tokens_out
            )
        choice = completion.choices[0]
        refusal = getattr(choice.message, "refusal", None)
        if refusal or choice.finish_reason == "content_filter":
            raise AdvisorFailure(
                REFUSED,
                f"refused: {refusal or 'content filter'}",
                input_tokens=tokens_in,
                output_tokens=tokens_out,
            )
        text = choice.message.content or ""
        return Reply(text, tokens_in, tokens_out, str(choice.finish_reason), str(completion.model))
