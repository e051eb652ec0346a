"""A minimal Telegram Bot API client over httpx: one ``call`` per method, token kept secret.

Every call is ``POST {api_base_url}/bot<TOKEN>/<method>`` with a JSON body and answers
``{"ok": bool, "result": …, "description": …, "parameters": {"retry_after": s}}``
(HISTORY-MEMPOOL-REMOTE.md §3.1). The token sits in the URL path, so nothing this module raises
or logs carries the URL: errors name the method and Telegram's description only, scrubbed of the
token, and the token is registered with ``polytui.redaction`` so a library's own log line (httpx
logs every request URL) is scrubbed too.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from polytui import redaction

log = logging.getLogger(__name__)

MASK = redaction.MASK


class BotApiError(Exception):
    """A Bot API call that failed: refused by Telegram, timed out, or unreachable."""

    def __init__(
        self,
        method: str,
        description: str,
        *,
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(f"{method}: {description}")
        self.method = method
        self.description = description
        self.status = status
        self.retry_after_s = retry_after_s

    @property
    def temporary(self) -> bool:
        """Worth retrying: flood control, a server error, a timeout or no connection."""
        return self.status is None or self.status == 429 or self.status >= 500


class BotApi:
    """Calls Bot API methods; ``call`` returns the ``result`` or raises ``BotApiError``."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout_s: float = 10.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._token = token
        redaction.register_secrets([token, token.partition(":")[2]])
        self._prefix = f"{base_url.rstrip('/')}/bot{token}/"
        self._timeout_s = timeout_s
        self._client = client or httpx.AsyncClient(timeout=timeout_s)
        self.calls = 0
        self.failures = 0

    def scrub(self, text: str) -> str:
        """``text`` without the token (or its secret half), whatever else redaction knows."""
        for piece in (self._token, self._token.partition(":")[2]):
            if piece:
                text = text.replace(piece, MASK)
        return redaction.redact(text)

    async def call(
        self, method: str, params: dict[str, Any] | None = None, *, timeout_s: float | None = None
    ) -> Any:
        """Run one method; Telegram's refusal or a transport failure raises ``BotApiError``."""
        self.calls += 1
        wait = self._timeout_s if timeout_s is None else timeout_s
        try:
            response = await self._client.post(
                self._prefix + method, json=params or {}, timeout=wait
            )
        except httpx.TimeoutException:
            self.failures += 1
            raise BotApiError(method, f"no answer within {wait:.0f} s") from None
        except httpx.HTTPError as exc:
            self.failures += 1
            raise BotApiError(method, self.scrub(f"{type(exc).__name__}: {exc}")[:200]) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self.failures += 1
            status = response.status_code
            raise BotApiError(method, f"HTTP {status}, not a Bot API answer", status=status)
        if body.get("ok") is True:
            return body.get("result")
        self.failures += 1
        parameters = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
        retry_after = parameters.get("retry_after") if parameters else None
        code = body.get("error_code", response.status_code)
        raise BotApiError(
            method,
            self.scrub(str(body.get("description") or f"HTTP {response.status_code}"))[:200],
            status=code if isinstance(code, int) else response.status_code,
            retry_after_s=float(retry_after) if isinstance(retry_after, int | float) else None,
        )

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()
