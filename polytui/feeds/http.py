"""One shared ``httpx.AsyncClient`` and a polite GET with retries.

Retries 429 (honouring ``Retry-After``) and 5xx with exponential backoff; timeouts count as
retryable too. Callers get ``None`` after the last try instead of an exception, and a reason
string for the health pane.
"""

from __future__ import annotations

import asyncio
import logging
import random
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


async def get_json(
    client: httpx.AsyncClient,
    url: str,
    *,
    params: Any = None,
    attempts: int = 3,
    backoff_s: float = 0.5,
) -> HttpResult:
    """GET a JSON document, retrying 429 / 5xx / timeouts; never raises for HTTP trouble."""
    error = ""
    status = 0
    for attempt in range(attempts):
        delay = backoff_s * 2**attempt * (0.5 + random.random())
        try:
            response = await client.get(url, params=params)
        except httpx.TimeoutException:
            error = "timed out"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:200]
        else:
            status = response.status_code
            if status == 429:
                error = "rate limited (429)"
                delay = retry_after(response, delay)
            elif status >= 500:
                error = f"server error {status}"
            elif status >= 400:
                return HttpResult(error=f"HTTP {status}", status=status)
            else:
                try:
                    return HttpResult(data=response.json(), status=status)
                except ValueError:
                    return HttpResult(error="response is not JSON", status=status)
        if attempt + 1 < attempts:
            await asyncio.sleep(delay)
    return HttpResult(error=error, status=status)
