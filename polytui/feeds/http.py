"""One shared ``httpx.AsyncClient`` and a polite GET with retries.

Retries 429 (honouring ``Retry-After``) and 5xx with exponential backoff; timeouts count as
retryable too. Callers get ``None`` after the last try instead of an exception, and a reason
string for the health pane. :func:`with_retries` is the one retry loop: :func:`get_json` and
the data-api history client (rate-limited, with its own counters) both run on it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

log = logging.getLogger(__name__)

USER_AGENT = "polytui"


def make_client(timeout_s: float = 10.0, transport: Any = None) -> httpx.AsyncClient:
    """The client every REST feed shares (one connection pool)."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout_s),
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        transport=transport,
        follow_redirects=False,
    )


@dataclass(slots=True)
class HttpResult:
    """A JSON body, or the reason there is none."""

    data: Any = None
    error: str = ""
    status: int = 0

    @property
    def ok(self) -> bool:
        """True when ``data`` holds a decoded body."""
        return not self.error


def retry_after(response: httpx.Response, fallback: float) -> float:
    """The wait a 429 asks for (``Retry-After`` seconds, at most 60), else ``fallback``."""
    raw = response.headers.get("Retry-After", "")
    try:
        return max(0.0, min(60.0, float(raw)))
    except ValueError:
        return fallback


@dataclass(slots=True)
class Tried:
    """How a retried request ended: the answer to decode (a success, or a 4xx other than 429,
    which no retry changes), else why the last try failed and the last status seen."""

    response: httpx.Response | None = None
    reason: str = ""
    status: int = 0


def _exception_text(exc: httpx.HTTPError) -> str:
    return f"{type(exc).__name__}: {exc}"[:200]


async def with_retries(
    send: Callable[[], Awaitable[httpx.Response]],
    *,
    attempts: int,
    backoff_s: float,
    backoff_cap_s: float = math.inf,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    describe: Callable[[httpx.HTTPError], str] = _exception_text,
) -> Tried:
    """Send up to ``attempts`` times, retrying 429 (its ``Retry-After``), 5xx, timeouts and
    transport errors after an exponential, jittered backoff (capped at ``backoff_cap_s``)."""
    reason = ""
    status = 0
    for attempt in range(attempts):
        delay = min(backoff_cap_s, backoff_s * 2**attempt) * (0.5 + random.random())
        try:
            response = await send()
        except httpx.TimeoutException:
            reason = "timed out"
        except httpx.HTTPError as exc:
            reason = describe(exc)
        else:
            status = response.status_code
            if status == 429:
                reason = "rate limited (429)"
                delay = retry_after(response, delay)
            elif status >= 500:
                reason = f"server error {status}"
            else:
                return Tried(response=response, status=status)
        if attempt + 1 < attempts:
            await sleep(delay)
    return Tried(reason=reason, status=status)


async def get_json(
    client: httpx.AsyncClient,
    url: str,
    *,
    params: Any = None,
    attempts: int = 3,
    backoff_s: float = 0.5,
) -> HttpResult:
    """GET a JSON document, retrying 429 / 5xx / timeouts; never raises for HTTP trouble."""
    tried = await with_retries(
        lambda: client.get(url, params=params), attempts=attempts, backoff_s=backoff_s
    )
    response, status = tried.response, tried.status
    if response is None:
        return HttpResult(error=tried.reason, status=status)
    if status >= 400:
        return HttpResult(error=f"HTTP {status}", status=status)
    try:
        return HttpResult(data=response.json(), status=status)
    except ValueError:
        return HttpResult(error="response is not JSON", status=status)
