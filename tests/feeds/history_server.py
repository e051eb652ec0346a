"""A loopback data-api serving the documented v2 and v1 history shapes from one world.

Rows are kept in the v1 (camelCase) shape the live captures have and translated to v2
(snake_case) on the way out, so a test can serve the real samples through either generation.
Every request is recorded with its arrival time, so tests can count requests per window.
Switches: ``v2_enabled`` (404 on /v2 when off), ``v2_shape`` ("ok" or "unknown"), and
``fail_next`` (status codes to answer before serving normally).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

CAMEL_TO_SNAKE = {
    "proxyWallet": "proxy_wallet",
    "asset": "token_id",
    "conditionId": "condition_id",
    "transactionHash": "transaction_hash",
    "eventSlug": "event_slug",
    "outcomeIndex": "outcome_index",
    "usdcSize": "usdc_size",
    "profileImage": "profile_image",
    "profileImageOptimized": "profile_image_optimized",
    "avgPrice": "avg_price",
    "realizedPnl": "realized_pnl",
    "curPrice": "current_price",
    "totalBought": "total_size",
    "endDate": "end_date",
    "oppositeOutcome": "opposite_outcome",
    "oppositeAsset": "opposite_token_id",
    "timestamp": "timestamp",
}


def to_v2(row: dict[str, Any]) -> dict[str, Any]:
    """A v1 row in v2 field names (internal ``_``-prefixed keys dropped)."""
    return {CAMEL_TO_SNAKE.get(k, k): v for k, v in row.items() if not k.startswith("_")}


def to_v1(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row without the server's internal keys."""
    return {k: v for k, v in row.items() if not k.startswith("_")}


@dataclass
class HistoryWorld:
    """What the server knows: trades (with ``_role``), activity, closed positions, resolutions."""

    trades: list[dict[str, Any]] = field(default_factory=list)
    activity: list[dict[str, Any]] = field(default_factory=list)
    closed: list[dict[str, Any]] = field(default_factory=list)
    resolutions: list[dict[str, Any]] = field(default_factory=list)
    leaderboard: list[dict[str, Any]] = field(default_factory=list)
    holders: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    pnl: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class HistoryServer:
    """aiohttp app for the history endpoints; records (monotonic time, path, query)."""

    def __init__(self, world: HistoryWorld) -> None:
        self.world = world
        self.requests: list[tuple[float, str, dict[str, str]]] = []
        self.v2_enabled = True
        self.v2_shape = "ok"
        self.fail_next: list[int] = []
        self.garbage_rows: list[Any] = []
        self.hold: asyncio.Event | None = None  # when set, requests wait for it (a slow server)
        self.url = ""

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._record])
        r = app.router
        r.add_get("/v2/trades", self.v2_trades)
        r.add_get("/trades", self.v1_trades)
        r.add_get("/v2/activity", self.v2_activity)
        r.add_get("/activity", self.v1_activity)
        r.add_get("/v2/positions", self.v2_positions)
        r.add_get("/closed-positions", self.v1_closed)
        r.add_get("/v2/resolutions", self.v2_resolutions)
        r.add_get("/v2/leaderboard", self.v2_leaderboard)
        r.add_get("/v1/leaderboard", self.v1_leaderboard)
        r.add_get("/v2/biggest-winners", self.v2_winners)
        r.add_get("/v2/holders", self.v2_holders)
        r.add_get("/holders", self.v1_holders)
        r.add_get("/v2/user-pnl", self.v2_pnl)
        return app

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((time.monotonic(), request.path, dict(request.query)))
        if self.hold is not None:
            await self.hold.wait()
        if self.fail_next:
            status = self.fail_next.pop(0)
            headers = {"Retry-After": "0.05"} if status == 429 else {}
            return web.Response(status=status, headers=headers)
        if request.path.startswith("/v2/"):
            if not self.v2_enabled:
                return web.Response(status=404, text="404 page not found")
            if self.v2_shape == "unknown":
                return web.json_response({"results": [], "next": None})
        response: web.StreamResponse = await handler(request)
        return response

    def count(self, path: str | None = None) -> int:
        """Requests seen (to one path)."""
        return sum(1 for _, p, _ in self.requests if path is None or p == path)

    def max_in_window(self, window_s: float, paths: tuple[str, ...] = ()) -> int:
        """The most requests (to ``paths``, or any) that arrived within any ``window_s``."""
        stamps = sorted(t for t, p, _ in self.requests if not paths or p in paths)
        best = 0
        j = 0
        for i, t in enumerate(stamps):
            while stamps[j] <= t - window_s:
                j += 1
            best = max(best, i - j + 1)
        return best

    # --- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _filter(rows: list[dict[str, Any]], q: dict[str, str], *, v2: bool) -> list[dict[str, Any]]:
        user = q.get("user", "").lower()
        market = q.get("condition_id" if v2 else "market", q.get("condition", "")).lower()
        taker_key = "taker_only" if v2 else "takerOnly"
        taker_only = q.get(taker_key, "true") == "true"
        start = int(q["start"]) if "start" in q else None
        end = int(q["end"]) if "end" in q else None
        out = []
        for row in rows:
            if user and str(row.get("proxyWallet", "")).lower() != user:
                continue
            if market and str(row.get("conditionId", "")).lower() != market:
                continue
            if taker_only and row.get("_role", "taker") != "taker":
                continue
            ts = row.get("timestamp")
            if isinstance(ts, int | float) and (
                (start is not None and ts < start) or (end is not None and ts > end)
            ):
                continue
            out.append(row)
        return out

    def _v2_page(self, request: web.Request, rows: list[dict[str, Any]]) -> web.Response:
        q = request.query
        if "cursor" in q and not (q.get("user") or q.get("condition") or q.get("condition_id")):
            return web.json_response({"error": "a bare cursor needs its anchor"}, status=400)
        if "cursor" in q:  # opaque to the client: "c<offset>.<page size>"; limit is ignored
            offset_text, limit_text = q["cursor"][1:].split(".")
            offset, limit = int(offset_text), int(limit_text)
        else:
            offset, limit = 0, min(int(q.get("limit", "100")), 1000)
        chunk = rows[offset : offset + limit]
        more = offset + limit < len(rows)
        cursor = f"c{offset + limit}.{limit}" if more else None
        body = {
            "data": [to_v2(r) for r in chunk] + self.garbage_rows,
            "pagination": {"has_more": more, "next_cursor": cursor},
        }
        return web.json_response(body)

    def _v1_page(self, request: web.Request, rows: list[dict[str, Any]], cap: int) -> web.Response:
        q = request.query
        limit = min(int(q.get("limit", "100")), cap)
        offset = int(q.get("offset", "0"))
        return web.json_response(
            [to_v1(r) for r in rows[offset : offset + limit]] + self.garbage_rows
        )

    @staticmethod
    def _newest_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(rows, key=lambda r: -float(r.get("timestamp", 0)))

    # --- endpoints -----------------------------------------------------------------------------

    async def v2_trades(self, request: web.Request) -> web.Response:
        rows = self._newest_first(self._filter(self.world.trades, dict(request.query), v2=True))
        return self._v2_page(request, rows)

    async def v1_trades(self, request: web.Request) -> web.Response:
        rows = self._newest_first(self._filter(self.world.trades, dict(request.query), v2=False))
        return self._v1_page(request, rows, 10_000)

    def _activity(self, q: dict[str, str]) -> list[dict[str, Any]]:
        user = q.get("user", "").lower()
        rows = [r for r in self.world.activity if str(r.get("proxyWallet", "")).lower() == user]
        return sorted(rows, key=lambda r: float(r.get("timestamp", 0)))

    async def v2_activity(self, request: web.Request) -> web.Response:
        return self._v2_page(request, self._activity(dict(request.query)))

    async def v1_activity(self, request: web.Request) -> web.Response:
        return self._v1_page(request, self._activity(dict(request.query)), 500)

    def _closed(self, q: dict[str, str]) -> list[dict[str, Any]]:
        user = q.get("user", "").lower()
        return [r for r in self.world.closed if str(r.get("proxyWallet", "")).lower() == user]

    async def v2_positions(self, request: web.Request) -> web.Response:
        if request.query.get("status") != "CLOSED":
            return web.json_response({"data": [], "pagination": {"has_more": False}})
        return self._v2_page(request, self._closed(dict(request.query)))

    async def v1_closed(self, request: web.Request) -> web.Response:
        return self._v1_page(request, self._closed(dict(request.query)), 50)

    async def v2_resolutions(self, request: web.Request) -> web.Response:
        wanted = set(request.query.get("condition", "").lower().split(","))
        rows = [r for r in self.world.resolutions if r["condition_id"].lower() in wanted]
        return web.json_response({"data": rows})

    async def v2_leaderboard(self, request: web.Request) -> web.Response:
        rows = [
            {
                "rank": int(r["rank"]),
                "user_id": r["proxyWallet"],
                "pnl": r["pnl"],
                "volume": r["vol"],
                "user_name": r["userName"],
            }
            for r in self.world.leaderboard
        ]
        return web.json_response({"data": rows, "pagination": {"has_more": False}})

    async def v1_leaderboard(self, request: web.Request) -> web.Response:
        offset = int(request.query.get("offset", "0"))
        limit = min(int(request.query.get("limit", "25")), 50)
        return web.json_response(self.world.leaderboard[offset : offset + limit])

    async def v2_winners(self, request: web.Request) -> web.Response:
        rows = [
            {
                "win_rank": i + 1,
                "user_id": r["proxyWallet"],
                "pnl": r["pnl"],
                "user_name": r["userName"],
            }
            for i, r in enumerate(self.world.leaderboard[:5])
        ]
        return web.json_response({"data": rows, "pagination": {"has_more": False}})

    async def v2_holders(self, request: web.Request) -> web.Response:
        groups = self.world.holders.get(request.query.get("condition", "").lower(), [])
        data = [{"token": g["token"], "holders": [to_v2(h) for h in g["holders"]]} for g in groups]
        return web.json_response({"data": data})

    async def v1_holders(self, request: web.Request) -> web.Response:
        return web.json_response(
            self.world.holders.get(request.query.get("market", "").lower(), [])
        )

    async def v2_pnl(self, request: web.Request) -> web.Response:
        user = request.query.get("user", "").lower()
        return web.json_response(
            {
                "data": {
                    "proxy_wallet": user,
                    "interval": "all",
                    "points": self.world.pnl.get(user, []),
                }
            }
        )


@asynccontextmanager
async def serve_history(world: HistoryWorld) -> AsyncIterator[HistoryServer]:
    """Run a :class:`HistoryServer` on an ephemeral loopback port."""
    server = HistoryServer(world)
    runner = web.AppRunner(server.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    sockets = site._server.sockets if site._server else []  # type: ignore[union-attr]
    port = sockets[0].getsockname()[1]
    server.url = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()
