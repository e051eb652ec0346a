"""data-api history: one client for the v2 cursor endpoints with the v1 offset ones behind them.

Facts (HISTORY-MEMPOOL-REMOTE.md §1): v2 paths (``/v2/trades``, ``/v2/activity``,
``/v2/positions?status=CLOSED``, ``/v2/resolutions``, ``/v2/leaderboard``, …) answer
``{"data": [...], "pagination": {"has_more", "next_cursor"}}``; the next page is
``?cursor=<next_cursor>`` plus the same anchor (``user`` or ``condition``), and filters such as
``start``/``end`` are not carried by the cursor, so they are sent again. v1 paths answer plain
arrays paged by ``offset`` with hard caps (``/trades`` and ``/activity`` 10,000; closed positions
50 a page). A v2 path that answers 404 or a shape we do not know is abandoned for its v1 twin for
the rest of the client's life. Responses sit behind a five-minute CDN cache, so every request
carries a changing ``_`` parameter (PROTOCOL.md §4).

Requests go through :class:`~polytui.feeds.ratelimit.RateLimiter` (published limits) and 429 /
5xx / timeouts are retried with exponential backoff (``Retry-After`` honoured). Rows are parsed at
the boundary by :mod:`polytui.feeds.history_rows`; a bad row is counted and dropped, never fatal.
Paging state is a :class:`CursorState` handed back after every page, so a caller that saves it
can resume an interrupted fetch where it stopped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import httpx

from polytui.feeds.history_rows import (
    RowError,
    activity_from_row,
    closed_position_from_row,
    holders_from_row,
    leader_from_row,
    pnl_points_from,
    resolution_from_row,
    trade_from_history_row,
)
from polytui.feeds.http import with_retries
from polytui.feeds.ratelimit import RateLimiter, data_api_limiter
from polytui.model import BadValue
from polytui.model.history import (
    ActivityEvent,
    ClosedPosition,
    HistoryTrade,
    LeaderEntry,
    PnlPoint,
    Resolution,
)

log = logging.getLogger(__name__)

V2 = "v2"
V1 = "v1"
RESOLUTIONS_PER_REQUEST = 20


class HistoryError(RuntimeError):
    """The data-api could not answer after every retry (the message says why)."""


@dataclass(frozen=True, slots=True)
class Stream:
    """One paged history endpoint in both generations."""

    kind: str
    v2_path: str
    v1_path: str
    v2_page: int
    v1_page: int
    v1_offset_cap: int
    v2_fixed: tuple[tuple[str, str], ...] = ()
    v1_fixed: tuple[tuple[str, str], ...] = ()


STREAMS: dict[str, Stream] = {
    "trades": Stream("trades", "/v2/trades", "/trades", 1000, 500, 10_000),
    "activity": Stream("activity", "/v2/activity", "/activity", 1000, 500, 10_000),
    "closed": Stream(
        "closed",
        "/v2/positions",
        "/closed-positions",
        1000,
        50,
        100_000,
        v2_fixed=(("status", "CLOSED"),),
        v1_fixed=(("sortBy", "TIMESTAMP"),),
    ),
}


@dataclass(frozen=True, slots=True)
class Query:
    """What a stream is asked for; generation-neutral names."""

    user: str = ""
    condition: str = ""
    taker_only: bool | None = None
    start_s: int | None = None
    end_s: int | None = None

    def v2_params(self, stream: Stream) -> list[tuple[str, str]]:
        """v2 snake_case parameters (``condition_id`` on trades/activity, ``condition`` else)."""
        params: list[tuple[str, str]] = list(stream.v2_fixed)
        if self.user:
            params.append(("user", self.user))
        if self.condition:
            name = "condition" if stream.kind == "closed" else "condition_id"
            params.append((name, self.condition))
        if self.taker_only is not None:
            params.append(("taker_only", "true" if self.taker_only else "false"))
        if stream.kind == "activity":
            params.append(("sort_direction", "ASC"))
        if self.start_s is not None:
            params.append(("start", str(self.start_s)))
        if self.end_s is not None:
            params.append(("end", str(self.end_s)))
        return params

    def v1_params(self, stream: Stream) -> list[tuple[str, str]]:
        """v1 camelCase parameters."""
        params: list[tuple[str, str]] = list(stream.v1_fixed)
        if self.user:
            params.append(("user", self.user))
        if self.condition:
            params.append(("market", self.condition))
        if self.taker_only is not None:
            params.append(("takerOnly", "true" if self.taker_only else "false"))
        if stream.kind == "activity":
            params.append(("sortDirection", "ASC"))
        if self.start_s is not None:
            params.append(("start", str(self.start_s)))
        if self.end_s is not None:
            params.append(("end", str(self.end_s)))
        return params


@dataclass(frozen=True, slots=True)
class CursorState:
    """Where a paged fetch stands; saved after each page so a fetch can resume."""

    kind: str
    generation: str = ""
    cursor: str | None = None
    offset: int = 0
    pages: int = 0
    done: bool = False
    truncated: bool = False

    def to_record(self) -> dict[str, Any]:
        """JSON-able."""
        return asdict(self)

    @classmethod
    def from_record(cls, raw: dict[str, Any]) -> CursorState:
        """Inverse of ``to_record``."""
        return cls(
            kind=str(raw["kind"]),
            generation=str(raw.get("generation", "")),
            cursor=raw.get("cursor"),
            offset=int(raw.get("offset", 0)),
            pages=int(raw.get("pages", 0)),
            done=bool(raw.get("done", False)),
            truncated=bool(raw.get("truncated", False)),
        )


@dataclass(frozen=True, slots=True)
class Page:
    """One parsed page: usable rows, non-trade events, what was dropped, and where next."""

    trades: tuple[HistoryTrade, ...] = ()
    events: tuple[ActivityEvent, ...] = ()
    closed: tuple[ClosedPosition, ...] = ()
    bad: int = 0
    state: CursorState = field(default_factory=lambda: CursorState(""))


@dataclass(slots=True)
class HistoryStats:
    """Counters for the health line and the tests."""

    requests: int = 0
    retries: int = 0
    bad_rows: int = 0
    fallbacks: int = 0
    by_path: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    bad_reasons: Counter[str] = field(default_factory=Counter)


def _is_v2_page(body: Any) -> bool:
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        return False
    pagination = body.get("pagination")
    return isinstance(pagination, dict) and isinstance(pagination.get("has_more"), bool)


def _v1_rows(body: Any) -> list[Any] | None:
    if isinstance(body, list):
        return body
    if isinstance(body, dict) and isinstance(body.get("data"), list):
        return list(body["data"])
    return None


class HistoryClient:
    """The data-api history endpoints, rate-limited, retried, v2 first with v1 behind it."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        *,
        limiter: RateLimiter | None = None,
        attempts: int = 5,
        backoff_s: float = 0.5,
        backoff_cap_s: float = 20.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        cache_buster: Callable[[], str] = lambda: str(time.time_ns()),
    ) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.limiter = limiter or data_api_limiter()
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.backoff_cap_s = backoff_cap_s
        self.sleep = sleep
        self.cache_buster = cache_buster
        self.stats = HistoryStats()
        # kind -> generation once a v2 path proved missing (404 or unknown shape)
        self.generation: dict[str, str] = {}

    # --- transport ------------------------------------------------------------------------------

    async def _get(self, path: str, params: Iterable[tuple[str, str]]) -> tuple[int, Any]:
        """(status, decoded body) — body None for 4xx; raises HistoryError when retries run out."""
        query = httpx.QueryParams([*params, ("_", self.cache_buster())])

        async def send() -> httpx.Response:
            self.stats.requests += 1
            self.stats.by_path[path] += 1
            async with self.limiter.slot(path):
                return await self.client.get(f"{self.base_url}{path}", params=query)

        tried = await with_retries(
            send,
            attempts=self.attempts,
            backoff_s=self.backoff_s,
            backoff_cap_s=self.backoff_cap_s,
            sleep=self._pause,
            describe=lambda exc: type(exc).__name__,
        )
        response, status = tried.response, tried.status
        if response is None:
            raise HistoryError(f"data-api {path}: {tried.reason} after {self.attempts} tries")
        if status >= 400:
            return status, None
        try:
            return status, response.json()
        except ValueError:
            return status, _NOT_JSON

    async def _pause(self, delay: float) -> None:
        """The wait before a retry, counted."""
        self.stats.retries += 1
        await self.sleep(delay)

    def _bad(self, reason: str) -> None:
        self.stats.bad_rows += 1
        self.stats.bad_reasons[reason] += 1

    # --- paged streams ----------------------------------------------------------------------------

    async def pages(
        self, kind: str, query: Query, state: CursorState | None = None
    ) -> AsyncIterator[Page]:
        """Every page of a stream from ``state`` (or the start); each page carries its state."""
        async for rows, at in self.raw_pages(kind, query, state):
            yield self._parse(kind, rows, at)

    async def raw_pages(
        self, kind: str, query: Query, state: CursorState | None = None
    ) -> AsyncIterator[tuple[list[Any], CursorState]]:
        """The rows of every page as sent (v2 snake_case or v1 camelCase), with the state after
        each page: for a caller with its own row parser (the whale poller)."""
        stream = STREAMS[kind]
        state = state or CursorState(kind)
        if state.done:
            return
        if not state.generation:
            state = replace(state, generation=self.generation.get(kind, V2))
        while True:
            if state.generation == V2:
                params = query.v2_params(stream)
                if state.cursor:
                    params.append(("cursor", state.cursor))
                else:
                    params.append(("limit", str(stream.v2_page)))
                status, body = await self._get(stream.v2_path, params)
                if not _is_v2_page(body) and state.pages == 0:
                    log.info("data-api %s: v2 answered %s, using v1", stream.v2_path, status)
                    self.stats.fallbacks += 1
                    self.generation[kind] = V1
                    state = replace(state, generation=V1, cursor=None, offset=0)
                    continue
                if not _is_v2_page(body):
                    raise HistoryError(
                        f"data-api {stream.v2_path}: unexpected page (HTTP {status})"
                    )
                rows = body["data"]
                pagination = body["pagination"]
                cursor = pagination.get("next_cursor")
                more = bool(pagination["has_more"]) and isinstance(cursor, str) and bool(cursor)
                state = replace(
                    state, cursor=cursor if more else None, pages=state.pages + 1, done=not more
                )
            else:
                if state.offset >= stream.v1_offset_cap:
                    yield [], replace(state, done=True, truncated=True)
                    return
                params = query.v1_params(stream)
                params += [("limit", str(stream.v1_page)), ("offset", str(state.offset))]
                status, body = await self._get(stream.v1_path, params)
                v1 = _v1_rows(body)
                if v1 is None:
                    raise HistoryError(
                        f"data-api {stream.v1_path}: unexpected answer (HTTP {status})"
                    )
                rows = v1
                offset = state.offset + len(rows)
                full = len(rows) >= stream.v1_page
                state = replace(
                    state,
                    offset=offset,
                    pages=state.pages + 1,
                    done=not full or offset >= stream.v1_offset_cap,
                    truncated=full and offset >= stream.v1_offset_cap,
                )
            yield rows, state
            if state.done:
                return

    def _parse(self, kind: str, rows: list[Any], state: CursorState) -> Page:
        trades: list[HistoryTrade] = []
        events: list[ActivityEvent] = []
        closed: list[ClosedPosition] = []
        bad = 0
        for row in rows:
            try:
                if kind == "trades":
                    trades.append(trade_from_history_row(row))
                elif kind == "activity":
                    item = activity_from_row(row)
                    if isinstance(item, ActivityEvent):
                        self.stats.events[item.kind] += 1
                        events.append(item)
                    else:
                        trades.append(item)
                else:
                    closed.append(closed_position_from_row(row))
            except (RowError, BadValue, TypeError, ValueError) as exc:
                bad += 1
                self._bad(str(exc).split(":")[0] or type(exc).__name__)
        return Page(tuple(trades), tuple(events), tuple(closed), bad, state)

    async def collect(self, kind: str, query: Query, max_pages: int = 10_000) -> list[Page]:
        """Every page of a stream in memory (for small streams and tests)."""
        out: list[Page] = []
        async for page in self.pages(kind, query):
            out.append(page)
            if len(out) >= max_pages:
                break
        return out

    # --- single answers ---------------------------------------------------------------------------

    async def open_positions(self, user: str, limit: int = 500) -> list[Any]:
        """A wallet's open positions as sent (``/positions``, largest first, every size)."""
        params = [("user", user), ("sizeThreshold", "0"), ("limit", str(limit))]
        return body if isinstance(body := (await self._get("/positions", params))[1], list) else []

    async def resolutions(self, condition_ids: Iterable[str]) -> dict[str, Resolution]:
        """Settled markets among ``condition_ids`` (``/v2/resolutions``; v1 has none: empty)."""
        wanted = sorted({c for c in condition_ids if c})
        found: dict[str, Resolution] = {}
        if self.generation.get("resolutions") == V1:
            return found
        for i in range(0, len(wanted), RESOLUTIONS_PER_REQUEST):
            batch = wanted[i : i + RESOLUTIONS_PER_REQUEST]
            status, body = await self._get("/v2/resolutions", [("condition", ",".join(batch))])
            rows = body.get("data") if isinstance(body, dict) else None
            if not isinstance(rows, list):
                log.info("data-api /v2/resolutions answered %s; using closed positions", status)
                self.generation["resolutions"] = V1
                self.stats.fallbacks += 1
                return found
            for row in rows:
                try:
                    resolution = resolution_from_row(row)
                except (RowError, BadValue) as exc:
                    self._bad(str(exc).split(":")[0])
                    continue
                if resolution is not None:
                    found[resolution.condition_id] = resolution
        return found

    async def leaderboard(
        self, period: str = "week", category: str = "overall", limit: int = 50
    ) -> list[LeaderEntry]:
        """Top wallets by P&L (``/v2/leaderboard``, else ``/v1/leaderboard``)."""
        if self.generation.get("leaderboard") != V1:
            params = [
                ("time_period", period.lower()),
                ("category", category.lower()),
                ("sort_by", "PNL"),
                ("limit", str(min(limit, 1000))),
            ]
            _status, body = await self._get("/v2/leaderboard", params)
            if _is_v2_page(body):
                return self._leaders(body["data"], "leaderboard")[:limit]
            self.generation["leaderboard"] = V1
            self.stats.fallbacks += 1
        out: list[LeaderEntry] = []
        offset = 0
        while len(out) < limit and offset <= 1000:
            params = [
                ("timePeriod", period.upper()),
                ("category", category.upper()),
                ("orderBy", "PNL"),
                ("limit", str(min(50, limit - len(out)))),
                ("offset", str(offset)),
            ]
            _status, body = await self._get("/v1/leaderboard", params)
            rows = _v1_rows(body)
            if not rows:
                break
            out += self._leaders(rows, "leaderboard")
            offset += len(rows)
            if len(rows) < 50:
                break
        return out[:limit]

    async def biggest_winners(
        self, period: str = "week", category: str = "overall"
    ) -> list[LeaderEntry]:
        """Wallets behind the biggest single wins (v2 only; empty when it is missing)."""
        params = [("time_period", period.lower()), ("category", category.lower())]
        _status, body = await self._get("/v2/biggest-winners", params)
        rows = body.get("data") if isinstance(body, dict) else None
        return self._leaders(rows, "biggest-winners") if isinstance(rows, list) else []

    async def holders(self, condition_id: str) -> list[LeaderEntry]:
        """Top holders of a market (``/v2/holders``, else ``/holders``)."""
        if self.generation.get("holders") != V1:
            _status, body = await self._get("/v2/holders", [("condition", condition_id)])
            rows = body.get("data") if isinstance(body, dict) else None
            if isinstance(rows, list):
                return self._holders(rows)
            self.generation["holders"] = V1
            self.stats.fallbacks += 1
        _status, body = await self._get("/holders", [("market", condition_id), ("limit", "20")])
        return self._holders(_v1_rows(body) or [])

    async def user_pnl(self, wallet: str) -> list[PnlPoint]:
        """A wallet's cumulative P&L curve (``/v2/user-pnl``; empty when it is missing)."""
        params = [("user", wallet), ("interval", "all"), ("fidelity", "1d")]
        _status, body = await self._get("/v2/user-pnl", params)
        data = body.get("data") if isinstance(body, dict) else None
        try:
            return pnl_points_from(data)
        except RowError:
            return []

    def _leaders(self, rows: list[Any], source: str) -> list[LeaderEntry]:
        out: list[LeaderEntry] = []
        for row in rows:
            try:
                out.append(leader_from_row(row, source))
            except (RowError, BadValue) as exc:
                self._bad(str(exc).split(":")[0])
        return out

    def _holders(self, rows: list[Any]) -> list[LeaderEntry]:
        out: list[LeaderEntry] = []
        for row in rows:
            try:
                out += holders_from_row(row)
            except RowError as exc:
                self._bad(str(exc))
        return out


_NOT_JSON = object()
