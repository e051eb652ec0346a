"""The data-api's history endpoints, served from a world's trades, past and present.

Under ``/data`` (paths as on data-api.polymarket.com): ``/v2/trades`` and ``/trades`` (a
wallet's fills, or a market's public taker tape: the wallets' fills and the retail prints of
:mod:`polytui.sim.worlds.tape`), ``/v2/activity`` and ``/activity`` (TRADE and REDEEM rows),
``/v2/positions`` (every ``status``), ``/closed-positions``, ``/v2/resolutions``, and in
:mod:`polytui.sim.history_ranks` the leaderboards, biggest winners, holders and ``/v2/user-pnl``.
Shapes: :mod:`polytui.sim.history_wire`; paging, parameter checks and the published rate limits:
:mod:`polytui.sim.history_paging`. A row shows ``DATAAPI_DELAY_S`` after it happened (the
indexer's lag); every past position was redeemed before the simulator started.

Faults: ``fail_next`` (statuses answered, in order, before serving again; 429 carries
``Retry-After``), settable over HTTP with ``POST /sim/data/fail`` ``{"statuses": [429, 503]}``.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any, Protocol

from aiohttp import web

from polytui.sim import history_wire as wire
from polytui.sim.history_data import DATAAPI_DELAY_S, HistoryData
from polytui.sim.history_paging import (
    BadRequest,
    PageRequest,
    Throttle,
    boolean,
    choice,
    csv,
    integer,
    page_request,
    v2_page,
)
from polytui.sim.wire import json_response
from polytui.sim.world import SimWorld
from polytui.sim.worlds.past import Position
from polytui.sim.worlds.tape import Print, retail_prints
from polytui.sim.worlds.world import World

Handler = Callable[[web.Request], Awaitable[web.Response]]
Row = tuple[tuple[Any, ...], dict[str, Any]]


class Ledger(Protocol):
    """The exchange's own fills, merged into a user's ``/trades`` (the console's trades)."""

    def dataapi_trades(self, user: str) -> list[dict[str, Any]]: ...


def _window(data: HistoryData, q: Mapping[str, str]) -> tuple[int | None, int | None]:
    start = integer(q, "start", 0, 0, 2**40) if "start" in q else None
    end = integer(q, "end", 0, 0, 2**40) if "end" in q else None
    return start, end


def _in_window(ts: int, start: int | None, end: int | None) -> bool:
    return (start is None or ts >= start) and (end is None or ts <= end)


def _amount_ok(p: Print, kind: str | None, amount: Decimal) -> bool:
    if kind is None:
        return True
    return (p.usd if kind == "CASH" else p.shares) >= amount


class HistoryRoutes:
    """The routes, the throttle and the fault knob."""

    def __init__(self, sim: SimWorld, world: World, ledger: Ledger) -> None:
        self.data = HistoryData(sim, world)
        self.ledger = ledger
        self.throttle = Throttle()
        self.fail_next: list[int] = []
        self.requests = 0

    def routes(self, extra: Iterable[tuple[str, Handler]] = ()) -> list[web.RouteDef]:
        """The data-api routes (``extra``: more (path, handler) pairs to wrap the same way)."""
        table: list[tuple[str, Handler]] = [
            ("/v2/trades", self.v2_trades),
            ("/trades", self.v1_trades),
            ("/v2/activity", self.v2_activity),
            ("/activity", self.v1_activity),
            ("/v2/positions", self.v2_positions),
            ("/closed-positions", self.v1_closed),
            ("/v2/resolutions", self.v2_resolutions),
            *extra,
        ]
        out = [web.get(f"/data{path}", self._wrap(path, handler)) for path, handler in table]
        out.append(web.post("/sim/data/fail", self._set_faults))
        return out

    def _wrap(self, path: str, handler: Handler) -> Handler:
        async def serve(request: web.Request) -> web.Response:
            self.requests += 1
            await self.throttle.wait(path)
            if self.fail_next:
                status = self.fail_next.pop(0)
                headers = {"Retry-After": "1"} if status == 429 else {}
                return web.Response(status=status, headers=headers, text=f"error {status}")
            try:
                response = await handler(request)
            except BadRequest as exc:
                return json_response({"error": str(exc)}, status=400)
            response.headers["Cache-Control"] = "public, max-age=300"
            return response

        return serve

    async def _set_faults(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            statuses = [int(s) for s in body.get("statuses", [])]
        except (ValueError, TypeError, AttributeError):
            return json_response({"error": 'body must be {"statuses": [int, ...]}'}, status=400)
        self.fail_next = statuses
        return json_response({"fail_next": statuses})

    # --- trades ---------------------------------------------------------------------------------

    def _trade_prints(
        self,
        q: Mapping[str, str],
        user: str,
        conditions: list[str],
        after: tuple[Any, ...] | None = None,
    ) -> Iterator[Print]:
        """Prints newest first: a user's fills, a market's tape, or every wallet's fills (from
        the cursor's row down, when there is one)."""
        data = self.data
        start, end = _window(data, q)
        hi = max(0.0, data.now() - DATAAPI_DELAY_S)
        if end is not None:
            hi = min(hi, data.sim_of(end + 1))
        if after is not None and isinstance(after[0], int | float):
            hi = min(hi, float(after[0]))
        lo = data.sim_of(start) if start is not None else -float("inf")
        if user:
            own = data.prints.get(user, [])
            markets = {data.by_cid[c].index for c in conditions if c in data.by_cid}
            chosen = [p for p in own if (not conditions or p.market in markets) and lo <= p.t <= hi]
            return iter(sorted(chosen, key=lambda p: p.key, reverse=True))
        if not conditions:
            everyone = [p for ps in data.market_prints.values() for p in ps if lo <= p.t <= hi]
            return iter(sorted(everyone, key=lambda p: p.key, reverse=True))
        streams = []
        for cid in conditions:
            market = data.by_cid.get(cid)
            if market is None:
                continue
            own = [p for p in data.market_prints.get(market.index, []) if lo <= p.t <= hi]
            own.sort(key=lambda p: p.key, reverse=True)
            streams.append(own)
            streams.append(retail_prints(data.world, market, lo, hi))  # type: ignore[arg-type]
        return heapq.merge(*streams, key=lambda p: p.key, reverse=True)

    def _trades(
        self, q: Mapping[str, str], v2: bool, after: tuple[Any, ...] | None = None
    ) -> Iterator[Print]:
        """Filtered prints newest first (after a cursor key, when given)."""
        user = q.get("user", "").lower()
        conditions = csv(q, "condition_id", "condition") if v2 else csv(q, "market")
        if conditions and (q.get("event_id") or q.get("eventId")):
            raise BadRequest("market and event_id are mutually exclusive")
        side = choice(q, "side", "", ("BUY", "SELL")) or None
        kind_name, amount_name = (
            ("filter_type", "filter_amount") if v2 else ("filterType", "filterAmount")
        )
        kind = choice(q, kind_name, "", ("CASH", "TOKENS")) or None
        if (kind is None) != (amount_name not in q):
            raise BadRequest(f"{kind_name} and {amount_name} go together")
        try:
            amount = Decimal(q.get(amount_name, "0"))
        except ArithmeticError:
            raise BadRequest(f"{amount_name} must be a number") from None
        boolean(q, "taker_only" if v2 else "takerOnly", True)  # every world fill takes
        start, end = _window(self.data, q)
        wall = self.data.wall
        for p in self._trade_prints(q, user, conditions, after):
            if after is not None and not p.key < after:
                continue
            if side is not None and p.side != side:
                continue
            if not _amount_ok(p, kind, amount) or not _in_window(int(wall(p.t)), start, end):
                continue
            yield p

    def _trade_row(self, p: Print, v2: bool) -> dict[str, Any]:
        make = wire.trade_v2 if v2 else wire.trade_v1
        return make(p, self.data.market(p.market), self.data.name(p.wallet), self.data.wall)

    async def v2_trades(self, request: web.Request) -> web.Response:
        q = request.query
        anchor = {
            "user": q.get("user", "").lower(),
            "condition": ",".join(csv(q, "condition_id", "condition")),
        }
        req = page_request(q, "trades", anchor, {}, 100, 1000)
        prints = list(itertools.islice(self._trades(q, True, req.after), req.limit + 1))
        rows: list[Row] = [(p.key, self._trade_row(p, True)) for p in prints]
        return json_response(v2_page(rows, PageRequest(req.limit, None, *_rest(req)), True))

    async def v1_trades(self, request: web.Request) -> web.Response:
        q = request.query
        limit = integer(q, "limit", 100, 0, 10_000)
        offset = integer(q, "offset", 0, 0, 10_000)
        user = q.get("user", "").lower()
        rows = [
            self._trade_row(p, False)
            for p in itertools.islice(self._trades(q, False), offset + limit)
        ][offset:]
        if user and offset == 0:
            mine = self.ledger.dataapi_trades(user)
            rows = sorted(rows + mine, key=lambda r: -float(r["timestamp"]))[:limit]
        return json_response(rows)

    # --- activity -------------------------------------------------------------------------------

    def _activity(self, q: Mapping[str, str], v2: bool) -> list[Row]:
        data = self.data
        user = q.get("user", "").lower()
        if not user:
            raise BadRequest("user is required")
        conditions = set(csv(q, "condition_id", "condition") if v2 else csv(q, "market"))
        types = set(t.upper() for t in csv(q, "type")) or None
        side = choice(q, "side", "", ("BUY", "SELL")) or None
        start, end = _window(data, q)
        wall = data.wall
        rows: list[Row] = []
        if types is None or "TRADE" in types:
            for p in data.prints.get(user, []):
                market = data.market(p.market)
                if not data.visible(p.t) or (conditions and market.condition_id not in conditions):
                    continue
                if side is not None and p.side != side:
                    continue
                row = wire.activity_trade(p, market, data.name(user), wall, v2)
                rows.append(((p.t, p.usd, p.shares, p.tx_hash), row))
        if (types is None or "REDEEM" in types) and side is None:
            by_market: dict[int, list[Position]] = {}
            for pos in data.held(user):
                by_market.setdefault(pos.market.index, []).append(pos)
            for held in by_market.values():
                market, t = held[0].market, held[0].redeem_t
                if not (held[0].closed(data.now()) and data.visible(t)):
                    continue
                if conditions and market.condition_id not in conditions:
                    continue
                shares = sum((p.shares for p in held), Decimal(0))
                usdc = sum((p.shares * p.payout for p in held), Decimal(0))
                tx = redeem_tx(market.condition_id, user)
                row = wire.activity_redeem(
                    user, market, shares, usdc, t, tx, data.name(user), wall, v2
                )
                rows.append(((t, usdc, shares, tx), row))
        rows = [r for r in rows if _in_window(int(r[1]["timestamp"]), start, end)]
        by = choice(q, "sortBy", "TIMESTAMP", ("TIMESTAMP", "TOKENS", "CASH"))
        column = {"TIMESTAMP": 0, "CASH": 1, "TOKENS": 2}[by]
        rows.sort(key=lambda r: (r[0][column], r[0][3]))
        rows = [((float(r[0][column]), r[0][3]), r[1]) for r in rows]
        return rows

    async def v2_activity(self, request: web.Request) -> web.Response:
        q = request.query
        direction = choice(q, "sort_direction", "DESC", ("ASC", "DESC"))
        anchor = {"user": q.get("user", "").lower(), "condition": ""}
        req = page_request(q, "activity", anchor, {"sort_direction": direction}, 100, 1000)
        direction = req.bound.get("sort_direction", direction)
        rows = self._activity(q, True)
        if direction == "DESC":
            rows.reverse()
        return json_response(v2_page(rows, req, direction == "DESC"))

    async def v1_activity(self, request: web.Request) -> web.Response:
        q = request.query
        limit = integer(q, "limit", 100, 0, 500)
        offset = integer(q, "offset", 0, 0, 10_000)
        rows = self._activity(q, False)
        if choice(q, "sortDirection", "DESC", ("ASC", "DESC")) == "DESC":
            rows.reverse()
        return json_response([row for _, row in rows[offset : offset + limit]])

    # --- positions ------------------------------------------------------------------------------

    def _positions(self, q: Mapping[str, str], status: str) -> list[tuple[Position, str, Decimal]]:
        data = self.data
        user = q.get("user", "").lower()
        conditions = set(csv(q, "condition", "condition_id", "market"))
        if not user and len(conditions) != 1:
            raise BadRequest("user, or exactly one condition, is required")
        now = data.now()
        if user:
            candidates = data.held(user)
        else:
            cid = next(iter(conditions))
            candidates = [
                p
                for wallet in data.positions
                for p in data.held(wallet)
                if p.market.condition_id == cid
            ]
        out = []
        for pos in candidates:
            if conditions and pos.market.condition_id not in conditions:
                continue
            state = self.data.position_state(pos, now)
            wanted = {"OPEN": ("OPEN", "REDEEMABLE"), "REDEEMABLE": ("REDEEMABLE",)}.get(
                status, (status,)
            )
            if state not in wanted:
                continue
            price = (
                pos.payout
                if state != "OPEN"
                else Decimal(f"{data.world.price(pos.token_id, now):.4f}")
            )
            out.append((pos, state, price))
        return out

    async def v2_positions(self, request: web.Request) -> web.Response:
        q = request.query
        status = choice(
            q, "status", "OPEN", ("OPEN", "REDEEMABLE", "REDEEMABLE_LOST", "MERGEABLE", "CLOSED")
        )
        if status == "CLOSED" and boolean(q, "include_archived", False):
            raise BadRequest("include_archived is not valid with status=CLOSED")
        sorts = (
            "CURRENT_VALUE",
            "TOKENS",
            "UNREALIZED_PNL",
            "REALIZED_PNL",
            "TOTAL_PNL",
            "TIMESTAMP",
        )
        sort_by = choice(
            q, "sort_by", "REALIZED_PNL" if status == "CLOSED" else "CURRENT_VALUE", sorts
        )
        direction = choice(q, "sort_direction", "DESC", ("ASC", "DESC"))
        anchor = {"user": q.get("user", "").lower(), "condition": ",".join(csv(q, "condition"))}
        bound = {"status": status, "sort_by": sort_by, "sort_direction": direction}
        req = page_request(q, "positions", anchor, bound, 100, 1000)
        start, end = _window(self.data, q)
        wall = self.data.wall
        rows: list[Row] = []
        for pos, state, price in self._positions(q, status):
            row = wire.position_v2(pos, state, price, self.data.name(pos.wallet), wall)
            if (start is not None or end is not None) and not _in_window(
                row["last_event_at"], start, end
            ):
                continue
            value = {
                "CURRENT_VALUE": row["current_value"],
                "TOKENS": row["current_size"] if state != "CLOSED" else row["total_size"],
                "UNREALIZED_PNL": row["unrealized_pnl"],
                "REALIZED_PNL": row["realized_pnl"],
                "TOTAL_PNL": row["total_pnl"],
                "TIMESTAMP": row["last_event_at"],
            }[sort_by]
            rows.append(((float(value), pos.token_id, pos.wallet), row))
        rows.sort(key=lambda r: r[0], reverse=direction == "DESC")
        return json_response(v2_page(rows, req, direction == "DESC"))

    async def v1_closed(self, request: web.Request) -> web.Response:
        q = request.query
        user = q.get("user", "").lower()
        if not user:
            raise BadRequest("user is required")
        limit = integer(q, "limit", 10, 0, 50)
        offset = integer(q, "offset", 0, 0, 100_000)
        sort_by = choice(
            q, "sortBy", "REALIZEDPNL", ("REALIZEDPNL", "TITLE", "PRICE", "AVGPRICE", "TIMESTAMP")
        )
        direction = choice(q, "sortDirection", "DESC", ("ASC", "DESC"))
        title = q.get("title", "")
        if len(title) > 100:
            raise BadRequest("title must be at most 100 characters")
        wall = self.data.wall
        rows = []
        for pos, _state, _price in self._positions(q, "CLOSED"):
            if title and title.lower() not in pos.market.question.lower():
                continue
            row = wire.closed_v1(pos, self.data.name(user), wall)
            key = {
                "REALIZEDPNL": row["realizedPnl"],
                "TITLE": row["title"],
                "PRICE": row["curPrice"],
                "AVGPRICE": row["avgPrice"],
                "TIMESTAMP": row["timestamp"],
            }[sort_by]
            rows.append(((key, pos.token_id), row))
        rows.sort(key=lambda r: r[0], reverse=direction == "DESC")
        return json_response([row for _, row in rows[offset : offset + limit]])

    # --- resolutions ----------------------------------------------------------------------------

    async def v2_resolutions(self, request: web.Request) -> web.Response:
        q = request.query
        given = [n for n in ("question_id", "condition", "event_id") if q.get(n)]
        if len(given) != 1:
            raise BadRequest("exactly one of question_id, condition or event_id is required")
        data = self.data
        wanted = set(csv(q, given[0]))
        if given[0] == "event_id" and len(wanted) > 20:
            raise BadRequest("event_id takes at most 20 ids")
        rows = []
        for market in data.world.markets:
            key = {
                "question_id": market.question_id,
                "condition": market.condition_id,
                "event_id": str(1000 + market.index),
            }[given[0]]
            if key.lower() in wanted:
                resolved = market.index in data.sim.resolved
                rows.append(wire.resolution_v2(market, resolved, data.wall))
        return json_response({"data": rows, "pagination": {"has_more": False, "next_cursor": None}})


def redeem_tx(condition_id: str, wallet: str) -> str:
    """The deterministic hash of a wallet's redemption in a market."""
    return "0x" + hashlib.sha256(f"redeem:{condition_id}:{wallet}".encode()).hexdigest()


def _rest(req: PageRequest) -> tuple[str, dict[str, str], dict[str, str]]:
    return req.endpoint, req.anchor, req.bound
