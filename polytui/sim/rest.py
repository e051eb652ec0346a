"""The read-only HTTP side: Gamma markets, the data-api, and the CLOB's public book routes.

The trading routes under ``/clob`` (auth, orders, cancels) belong to :mod:`polytui.sim.exchange`;
the data-api merges the scenario's trades with the exchange's settled fills for the same user.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any, Protocol

from aiohttp import web

from polytui.sim.scenario import SimMarket, scenario_token_price
from polytui.sim.wire import ctf_token_id, dataapi_row, gamma_record, json_response
from polytui.sim.world import SimWorld

DATAAPI_DELAY_S = 5.0

Book = Callable[[str, float], dict[str, Any]]


class Ledger(Protocol):
    """What the data-api asks the exchange for."""

    def dataapi_trades(self, user: str) -> list[dict[str, Any]]: ...

    def positions(self, user: str) -> list[dict[str, Any]]: ...


class RestRoutes:
    """Gamma, data-api and CLOB book endpoints; counts every request it answers."""

    def __init__(self, world: SimWorld, book: Book, ledger: Ledger) -> None:
        self.world = world
        self.book = book
        self.ledger = ledger
        self.requests = 0
        # condition id → the fee schedule Gamma shows instead of the one the CLOB charges (a
        # rate change Gamma has not caught up with; None: Gamma shows no schedule).
        self.gamma_fees: dict[str, dict[str, object] | None] = {}

    def routes(self, history: bool = False) -> list[web.RouteDef]:
        """The routes (mounted by the server); with ``history`` the data-api's trades,
        activity, leaderboard and resolutions are left to :mod:`polytui.sim.history`."""
        data = [
            web.get("/data/trades", self._data_trades),
            web.get("/data/activity", self._data_trades),
            web.get("/data/v1/leaderboard", self._data_leaderboard),
            web.get("/data/v2/resolutions", self._data_resolutions),
        ]
        return [
            web.get("/gamma/markets", self._gamma_markets),
            *([] if history else data),
            web.get("/data/positions", self._data_positions),
            web.get("/clob/book", self._clob_book),
            web.post("/clob/books", self._clob_books),
            web.get("/clob/time", self._clob_time),
            web.get("/clob/ok", self._clob_ok),
        ]

    def rest_book(self, token: str) -> dict[str, Any] | None:
        """``GET /clob/book`` of a token now, or None for an unknown token."""
        found = self.world.token(token)
        if found is None:
            return None
        event = self.book(token, self.world.now())
        return {
            "market": found[0].condition_id,
            "asset_id": token,
            "timestamp": event["timestamp"],
            "hash": event["hash"],
            "bids": event["bids"],
            "asks": event["asks"],
            "min_order_size": "5",
            "tick_size": "0.01",
            "neg_risk": False,
            "last_trade_price": "",
        }

    def _gamma(self, market: SimMarket) -> dict[str, Any]:
        if market.condition_id in self.gamma_fees:
            market = replace(market, fee=self.gamma_fees[market.condition_id])
        return gamma_record(
            market,
            end_wall=self.world.wall(market.end_s),
            resolved=self.world.is_resolved(market),
            yes_mid=market.yes_price(self.world.now()),
            protocol_v2=market.condition_id in self.world.protocol_v2,
        )

    async def _gamma_markets(self, request: web.Request) -> web.Response:
        self.requests += 1
        tokens = set(request.query.getall("clob_token_ids", []))
        conditions = set(",".join(request.query.getall("condition_ids", [])).split(",")) - {""}
        slug = request.query.get("slug")
        # Gamma since 2026-04-09: closed markets are left out unless closed=true is sent, and
        # closed=true lists closed markets only.
        want_closed = request.query.get("closed", "false").lower() == "true"
        # clob_token_ids matches the record's clobTokenIds: a Protocol V2 market's position ids
        # are not found that way. Records are built only for the markets asked for (Gamma is
        # indexed: a lookup costs the same among seven markets or seventy).
        found = [
            self._gamma(m)
            for m in self.world.scenario.markets
            if (not conditions or m.condition_id in conditions)
            and (slug is None or m.slug == slug)
            and (not tokens or tokens & self._listed_ids(m))
            and self.world.is_resolved(m) == want_closed
        ]
        return json_response(found)

    def _listed_ids(self, market: SimMarket) -> set[str]:
        """The ids a market's Gamma record lists in ``clobTokenIds``."""
        ids = (market.yes_token, market.no_token)
        if market.condition_id in self.world.protocol_v2:
            return {ctf_token_id(t) for t in ids}
        return set(ids)

    async def _data_trades(self, request: web.Request) -> web.Response:
        self.requests += 1
        user = request.query.get("user", "").lower()
        t = self.world.now()
        scenario = self.world.scenario
        rows = [
            dataapi_row(scenario, tr, self.world.wall(tr.t))
            for tr in scenario.trades
            if tr.t + DATAAPI_DELAY_S <= t and (not user or tr.wallet == user)
        ]
        if user:
            rows = sorted(rows + self.ledger.dataapi_trades(user), key=lambda r: r["timestamp"])
        # Like the real /trades: newest first, ``limit`` (at most 10,000) from ``offset``, and
        # ``start``/``end`` (unix seconds) bound the block time.
        q = request.query
        try:
            limit = min(10_000, max(0, int(q.get("limit", "100"))))
            offset = min(10_000, max(0, int(q.get("offset", "0"))))
            start = int(q["start"]) if "start" in q else None
            end = int(q["end"]) if "end" in q else None
        except ValueError:
            return json_response({"error": "invalid query"}, status=400)
        rows = [
            r
            for r in reversed(rows)
            if (start is None or r["timestamp"] >= start) and (end is None or r["timestamp"] <= end)
        ]
        return json_response(rows[offset : offset + limit])

    async def _data_positions(self, request: web.Request) -> web.Response:
        user = request.query.get("user", "").lower()
        self.requests += 1
        return json_response(self.ledger.positions(user) + self._scenario_positions(user))

    def _scenario_positions(self, user: str) -> list[dict[str, Any]]:
        """``/positions`` rows of what ``user`` bought in the scenario, as listed so far (the
        data-api's delay applies); only the fields a position's market is read from and its size."""
        t = self.world.now()
        held: dict[str, Decimal] = {}
        for tr in self.world.scenario.trades:
            if tr.wallet == user and tr.t + DATAAPI_DELAY_S <= t:
                sign = 1 if tr.side == "BUY" else -1
                held[tr.token_id] = held.get(tr.token_id, Decimal(0)) + sign * tr.shares
        rows = []
        for token, size in sorted(held.items()):
            found = self.world.token(token)
            if size <= 0 or found is None:
                continue
            market, is_yes = found
            rows.append(
                {
                    "proxyWallet": user,
                    "asset": token,
                    "conditionId": market.condition_id,
                    "size": size,
                    "curPrice": scenario_token_price(market, is_yes, t),
                    "redeemable": self.world.is_resolved(market),
                    "title": market.question,
                    "slug": market.slug,
                    "outcome": "Yes" if is_yes else "No",
                    "outcomeIndex": 0 if is_yes else 1,
                }
            )
        return rows

    async def _data_leaderboard(self, request: web.Request) -> web.Response:
        self.requests += 1
        whales = sorted(self.world.scenario.whales, key=lambda w: -w.skill)
        board = [
            {
                "rank": str(i + 1),
                "proxyWallet": w.wallet,
                "userName": w.alias,
                "vol": 100000,
                "pnl": int(10000 * w.skill),
                "profileImage": "",
                "xUsername": "",
                "verifiedBadge": False,
            }
            for i, w in enumerate(whales)
        ]
        return json_response(board)

    def _market_of(self, condition_id: str) -> SimMarket | None:
        for market in self.world.scenario.markets:
            if market.condition_id == condition_id:
                return market
        return None

    async def _data_resolutions(self, request: web.Request) -> web.Response:
        """``/v2/resolutions?condition=``: ``payouts`` in millionths once resolved."""
        self.requests += 1
        conditions = set(request.query.get("condition", "").split(",")) - {""}
        if not conditions:
            return json_response(
                {"error": "condition, question_id or event_id required"}, status=400
            )
        rows = []
        for cid in sorted(conditions):
            market = self._market_of(cid)
            if market is None:
                continue
            resolved = self.world.is_resolved(market)
            rows.append(
                {
                    "condition_id": cid,
                    "status": "resolved" if resolved else "initialized",
                    "market_type": "BINARY",
                    "payouts": (
                        ([1_000_000, 0] if market.yes_wins else [0, 1_000_000]) if resolved else []
                    ),
                    "resolution_source": "reported",
                }
            )
        return json_response({"data": rows, "pagination": {"has_more": False, "next_cursor": None}})

    async def _clob_book(self, request: web.Request) -> web.Response:
        self.requests += 1
        book = self.rest_book(request.query.get("token_id", ""))
        if book is None:
            return json_response(
                {"error": "No orderbook exists for the requested token id"}, status=404
            )
        return json_response(book)

    async def _clob_books(self, request: web.Request) -> web.Response:
        self.requests += 1
        try:
            body = await request.json()
        except ValueError:
            return json_response({"error": "invalid body"}, status=400)
        books = [
            self.rest_book(str(item.get("token_id", ""))) for item in body if isinstance(item, dict)
        ]
        return json_response([b for b in books if b is not None])

    async def _clob_time(self, request: web.Request) -> web.Response:
        return web.Response(text=str(int(time.time())))

    async def _clob_ok(self, request: web.Request) -> web.Response:
        return web.Response(text="OK")
