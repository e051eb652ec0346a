"""The CLOB's REST API with L2 headers: endpoints, JSON and paged reads, response parsing.

Requests go out on an async httpx client, not through the official client's own methods: those
are blocking, may retry a failed POST by themselves, and after a match poll trades for up to
30 s. Here each call has its own timeout, can be cancelled, and a timeout is told apart from a
refused connection (the broker's order-safety rules depend on that).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx

from polytui import redaction
from polytui.amounts import MICRO
from polytui.execution.live.errors import LiveError
from polytui.execution.live.signer import OrderSigner

# CLOB REST paths (py-clob-client-v2 endpoints.py); the HMAC signs the path without query.
TIME = "/time"
BALANCE_ALLOWANCE = "/balance-allowance"
BALANCE_ALLOWANCE_UPDATE = "/balance-allowance/update"
POST_ORDER = "/order"
CANCEL_ORDER = "/order"
CANCEL_ALL = "/cancel-all"
OPEN_ORDERS = "/data/orders"
GET_ORDER = "/data/order/"
TRADES = "/data/trades"
END_CURSOR = "LTE="
# Allowances at or above this are the usual max-uint256 approvals; shown as unlimited.
MAX_UINT_ISH = Decimal(2) ** 128
UNLIMITED = Decimal(10) ** 18


class ClobRest:
    """L2-authenticated calls to one CLOB base URL."""

    def __init__(self, base: str, http: httpx.AsyncClient, signer: OrderSigner) -> None:
        self.base = base.rstrip("/")
        self.http = http
        self.signer = signer

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """One L2 request; the body is serialized once, and that text is what the HMAC signs."""
        text = None if body is None else json.dumps(body, separators=(",", ":"))
        headers = self.signer.l2_headers(method, path, text)
        kwargs: dict[str, Any] = {"params": params, "headers": headers}
        if text is not None:
            kwargs["content"] = text.encode()
        if timeout is not None:
            kwargs["timeout"] = timeout
        return await self.http.request(method, self.base + path, **kwargs)

    async def json(self, method: str, path: str, **kw: Any) -> Any:
        """The JSON answer; None for a 404; LiveError for any other non-200."""
        response = await self.request(method, path, **kw)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise LiveError(f"{method} {path}: HTTP {response.status_code}: {error_of(response)}")
        return response.json()

    async def paged(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Every row of a cursor-paged listing (at most 50 pages)."""
        rows: list[dict[str, Any]] = []
        cursor = "MA=="
        for _ in range(50):
            data = await self.json("GET", path, params={**params, "next_cursor": cursor})
            if data is None:
                break
            if isinstance(data, list):
                rows.extend(r for r in data if isinstance(r, dict))
                break
            rows.extend(r for r in data.get("data") or [] if isinstance(r, dict))
            cursor = str(data.get("next_cursor") or END_CURSOR)
            if cursor in (END_CURSOR, ""):
                break
        return rows

    async def post_order(self, text: str, timeout: float) -> httpx.Response:
        """``POST /order`` with exactly this body, once; transport errors reach the caller."""
        return await self.http.post(
            self.base + POST_ORDER,
            content=text.encode(),
            headers=self.signer.l2_headers("POST", POST_ORDER, text),
            timeout=timeout,
        )

    async def server_time(self) -> httpx.Response:
        """``GET /time`` (public)."""
        return await self.http.get(self.base + TIME)


def int_of(raw: Any) -> int | None:
    """A whole number from wire text, or None."""
    try:
        return int(Decimal(str(raw).strip()))
    except (ArithmeticError, ValueError):
        return None


def micro_usd(raw: Any) -> Decimal | None:
    """A CLOB balance/allowance (integer micro-units as text) in pUSD."""
    if raw is None or isinstance(raw, bool | float):
        return None
    try:
        value = Decimal(str(raw).strip())
    except ArithmeticError:
        return None
    if not value.is_finite() or value < 0:
        return None
    if value >= MAX_UINT_ISH:
        return UNLIMITED  # an "infinite" approval (max uint256)
    return (value * MICRO).quantize(MICRO)


def allowance_text(amount: Decimal) -> str:
    """An allowance for a notice: a number, or "unlimited"."""
    return "unlimited" if amount >= UNLIMITED else str(amount)


def definite_refusal(status_code: int, error: str) -> bool:
    """Whether a non-200 POST answer means the order was surely not taken.

    A 4xx is (but 425, the matching engine restarting), and so is the documented 500 ``order
    timed out`` ("rejected before reaching the order book"). Any other 5xx may come from a
    gateway after the CLOB took the order: not definite.
    """
    if 400 <= status_code < 500 and status_code != 425:
        return True
    return status_code == 500 and "order timed out" in error.lower()


def json_or_none(response: httpx.Response) -> Any:
    """The response's JSON, or None when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def error_of(response: httpx.Response) -> str:
    """The CLOB's error text, redacted and short."""
    data = json_or_none(response)
    if isinstance(data, dict):
        for key in ("error", "errorMsg", "error_msg", "message"):
            if data.get(key):
                return redaction.redact(str(data[key]))[:200]
    return redaction.redact(response.text)[:200]
