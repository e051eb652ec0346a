"""Leaderboards, biggest winners, holders and P&L curves, from a world's positions.

- ``/v1/leaderboard`` and ``/v2/leaderboard``: each wallet's realized P&L over the positions it
  closed (redeemed) in the period (``day``, ``week``, ``month`` of wall time, or ``all``) and
  its traded volume there (USD in v1, shares in v2), ranked by P&L or volume; ``category`` other
  than overall keeps markets whose group has that ``category`` (scenario key).
- ``/v2/biggest-winners``: one row per wallet and market closed in the period with a profit,
  biggest first.
- ``/holders`` and ``/v2/holders``: per token, the wallets holding it now (bought and not yet
  redeemed), biggest first.
- ``/v2/user-pnl``: the cumulative P&L curve (realized from closed positions, unrealized at the
  public price) at ``fidelity`` steps over ``interval``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiohttp import web

from polytui.sim import history_wire as wire
from polytui.sim.history import Row
from polytui.sim.history_data import HistoryData
from polytui.sim.history_paging import BadRequest, choice, csv, integer, page_request, v2_page
from polytui.sim.onchain import block_at
from polytui.sim.wire import json_response
from polytui.sim.worlds.past import Position

PERIOD_S = {"DAY": 86_400.0, "WEEK": 7 * 86_400.0, "MONTH": 30 * 86_400.0, "ALL": float("inf")}
CATEGORIES = (
    "OVERALL",
    "POLITICS",
    "SPORTS",
    "CRYPTO",
    "CULTURE",
    "MENTIONS",
    "WEATHER",
    "ECONOMICS",
    "TECH",
    "FINANCE",
)
INTERVAL_S = {
    "max": None,
    "all": None,
    "1m": 30 * 86_400.0,
    "1w": 7 * 86_400.0,
    "1d": 86_400.0,
    "12h": 43_200.0,
    "6h": 21_600.0,
}
FIDELITY_S = {"1d": 86_400.0, "18h": 64_800.0, "12h": 43_200.0, "3h": 10_800.0, "1h": 3_600.0}
MAX_POINTS = 2_000


class RankRoutes:
    """The ranking and curve endpoints over one :class:`HistoryData`."""

    def __init__(self, data: HistoryData) -> None:
        self.data = data

    def handlers(self) -> list[tuple[str, Any]]:
        """(path, handler) pairs, wrapped by :class:`~polytui.sim.history.HistoryRoutes`."""
        return [
            ("/v1/leaderboard", self.v1_leaderboard),
            ("/v2/leaderboard", self.v2_leaderboard),
            ("/v2/biggest-winners", self.v2_winners),
            ("/holders", self.v1_holders),
            ("/v2/holders", self.v2_holders),
            ("/v2/user-pnl", self.v2_pnl),
        ]

    # --- the period's results -------------------------------------------------------------------

    def _closed_in(self, period: str, category: str) -> dict[str, list[Position]]:
        data = self.data
        now = data.now()
        since = now - PERIOD_S[period] * data.sim.speed
        out: dict[str, list[Position]] = {}
        for wallet in data.positions:
            for pos in data.held(wallet):
                if category != "OVERALL" and pos.market.group.category.upper() != category:
                    continue
                if since < pos.redeem_t and data.position_state(pos, now) == "CLOSED":
                    out.setdefault(wallet, []).append(pos)
        return out

    def _volume_in(self, period: str, category: str) -> dict[str, tuple[Decimal, Decimal]]:
        data = self.data
        since = data.now() - PERIOD_S[period] * data.sim.speed
        out: dict[str, tuple[Decimal, Decimal]] = {}
        for wallet, prints in data.prints.items():
            usd = shares = Decimal(0)
            for p in prints:
                market = data.market(p.market)
                if category != "OVERALL" and market.group.category.upper() != category:
                    continue
                if since < p.t and data.visible(p.t):
                    usd += p.usd
                    shares += p.shares
            if shares:
                out[wallet] = (usd, shares)
        return out

    def _standings(
        self, period: str, category: str, by_volume: bool
    ) -> list[tuple[str, Decimal, Decimal, Decimal]]:
        """(wallet, pnl, usd volume, share volume), best first."""
        closed = self._closed_in(period, category)
        volume = self._volume_in(period, category)
        rows = []
        for wallet in sorted(set(closed) | set(volume)):
            pnl = sum((p.realized_pnl_usd for p in closed.get(wallet, [])), Decimal(0))
            usd, shares = volume.get(wallet, (Decimal(0), Decimal(0)))
            rows.append((wallet, pnl, usd.quantize(Decimal("0.01")), shares))
        rows.sort(key=lambda r: (-(r[2] if by_volume else r[1]), r[0]))
        return rows

    async def v1_leaderboard(self, request: web.Request) -> web.Response:
        q = request.query
        category = choice(q, "category", "OVERALL", CATEGORIES)
        period = choice(q, "timePeriod", "DAY", tuple(PERIOD_S))
        order = choice(q, "orderBy", "PNL", ("PNL", "VOL"))
        limit = integer(q, "limit", 25, 1, 50)
        offset = integer(q, "offset", 0, 0, 1000)
        user = q.get("user", "").lower()
        name = q.get("userName", "")
        rows = []
        for rank, (wallet, pnl, usd, _) in enumerate(
            self._standings(period, category, order == "VOL"), 1
        ):
            alias = self.data.name(wallet)
            if (user and wallet != user) or (name and alias != name):
                continue
            rows.append(wire.leader_v1(rank, wallet, alias, pnl, usd))
        return json_response(rows[offset : offset + limit])

    async def v2_leaderboard(self, request: web.Request) -> web.Response:
        q = request.query
        category = choice(q, "category", "overall", tuple(c.lower() for c in CATEGORIES))
        period = choice(q, "time_period", "day", tuple(p.lower() for p in PERIOD_S))
        sort_by = choice(q, "sort_by", "PNL", ("PNL", "VOLUME"))
        standings = self._standings(period.upper(), category.upper(), sort_by == "VOLUME")
        user = q.get("user", "").lower()
        if user:
            return json_response({"data": self._standing(user, period, category, standings)})
        anchor = {"category": category, "time_period": period}
        req = page_request(q, "leaderboard", anchor, {"sort_by": sort_by}, 25, 1000)
        rows: list[Row] = [
            ((rank,), wire.leader_v2(rank, wallet, self.data.name(wallet), pnl, shares))
            for rank, (wallet, pnl, _, shares) in enumerate(standings, 1)
        ]
        return json_response(v2_page(rows, req, False))

    def _standing(
        self, user: str, period: str, category: str, standings: list[Any]
    ) -> dict[str, Any] | None:
        by_pnl = self._standings(period.upper(), category.upper(), False)
        by_vol = self._standings(period.upper(), category.upper(), True)
        row = next((r for r in standings if r[0] == user), None)
        if row is None:
            return None
        entry = wire.leader_v2(0, user, self.data.name(user), row[1], row[3])
        entry["rank_pnl"] = next(i for i, r in enumerate(by_pnl, 1) if r[0] == user)
        entry["rank_volume"] = next(i for i, r in enumerate(by_vol, 1) if r[0] == user)
        return entry

    async def v2_winners(self, request: web.Request) -> web.Response:
        q = request.query
        category = choice(q, "category", "overall", tuple(c.lower() for c in CATEGORIES))
        period = choice(q, "time_period", "day", tuple(p.lower() for p in PERIOD_S))
        wins: list[tuple[Decimal, str, list[Position]]] = []
        for wallet, held in self._closed_in(period.upper(), category.upper()).items():
            by_market: dict[int, list[Position]] = {}
            for pos in held:
                by_market.setdefault(pos.market.index, []).append(pos)
            for group in by_market.values():
                pnl = sum((p.realized_pnl_usd for p in group), Decimal(0))
                if pnl > 0:
                    wins.append((pnl, wallet, group))
        wins.sort(key=lambda w: (-w[0], w[1], w[2][0].market.index))
        anchor = {"category": category, "time_period": period}
        req = page_request(q, "biggest-winners", anchor, {}, 100, 1000)
        rows: list[Row] = [
            ((rank,), wire.winner_v2(rank, group, self.data.name(wallet), self.data.wall))
            for rank, (_, wallet, group) in enumerate(wins, 1)
        ]
        return json_response(v2_page(rows, req, False))

    # --- holders --------------------------------------------------------------------------------

    def _holders(
        self, conditions: list[str], min_balance: Decimal, limit: int, v2: bool
    ) -> list[dict[str, Any]]:
        data = self.data
        now = data.now()
        groups: list[dict[str, Any]] = []
        for cid in conditions:
            market = data.by_cid.get(cid)
            if market is None:
                continue
            by_token: dict[str, list[dict[str, Any]]] = {market.yes_token: [], market.no_token: []}
            for wallet in data.positions:
                for pos in data.held(wallet):
                    if pos.market is not market or pos.closed(now):
                        continue
                    if pos.shares >= min_balance:
                        row = wire.holder(pos, pos.shares, data.name(wallet), v2)
                        by_token[pos.token_id].append(row)
            for token, rows in by_token.items():
                rows.sort(key=lambda r: -r["amount"])
                if rows:
                    groups.append({"token": token, "holders": rows[:limit]})
        return groups

    async def v1_holders(self, request: web.Request) -> web.Response:
        q = request.query
        conditions = csv(q, "market")
        if not conditions:
            raise BadRequest("market is required")
        limit = integer(q, "limit", 20, 0, 20)
        min_balance = Decimal(integer(q, "minBalance", 1, 0, 999_999))
        return json_response(self._holders(conditions, min_balance, limit, False))

    async def v2_holders(self, request: web.Request) -> web.Response:
        q = request.query
        conditions = csv(q, "condition")
        if not conditions:
            raise BadRequest("condition is required")
        include_pnl = q.get("include_pnl", "false").lower() == "true"
        if include_pnl and len(conditions) != 1:
            raise BadRequest("include_pnl needs exactly one condition")
        limit = integer(q, "limit", 20, 0, 100 if include_pnl else 1000)
        min_balance = Decimal(integer(q, "min_balance", 1, 0, 999_999))
        groups = self._holders(conditions, min_balance, limit, True)
        return json_response({"data": groups})

    # --- the P&L curve --------------------------------------------------------------------------

    async def v2_pnl(self, request: web.Request) -> web.Response:
        q = request.query
        user = q.get("user", "").lower()
        if not user:
            raise BadRequest("user is required")
        interval = choice(q, "interval", "all", tuple(INTERVAL_S))
        fidelity = choice(
            q, "fidelity", "1d" if interval in ("max", "all", "1m") else "1h", tuple(FIDELITY_S)
        )
        return json_response(
            {
                "data": {
                    "proxy_wallet": user,
                    "interval": interval,
                    "fidelity": fidelity,
                    "source_fidelity": fidelity,
                    "points": self._points(user, interval, fidelity),
                }
            }
        )

    def _points(self, user: str, interval: str, fidelity: str) -> list[dict[str, Any]]:
        data = self.data
        now = data.now()
        held = data.held(user)
        if not held:
            return []
        first = min(pos.fills[0].t for pos in held)
        span = INTERVAL_S[interval]
        start = first if span is None else max(first, now - span * data.sim.speed)
        step = FIDELITY_S[fidelity] * data.sim.speed
        count = min(MAX_POINTS, int((now - start) // step) + 1)
        step = max(step, (now - start) / max(1, count - 1)) if count > 1 else step
        points = []
        for i in range(count):
            t = min(now, start + (i + 1) * step) if i < count - 1 else now
            points.append(self._point(held, t))
        return points

    def _point(self, held: list[Position], t: float) -> dict[str, Any]:
        data = self.data
        realized = unrealized = shares = usdc = fees = Decimal(0)
        trades = 0
        for pos in held:
            fills = [f for f in pos.fills if f.t <= t]
            if not fills:
                continue
            trades += len(fills)
            bought = sum((f.shares for f in fills), Decimal(0))
            cost = sum((f.usd for f in fills), Decimal(0))
            fee = pos.fees_usd * bought / pos.shares
            shares += bought
            usdc += cost
            fees += fee
            if pos.closed(t):
                realized += pos.realized_pnl_usd
            else:
                price = (
                    pos.payout
                    if pos.market.end_s <= t
                    else Decimal(f"{data.world.price(pos.token_id, t):.4f}")
                )
                unrealized += bought * price - cost - fee
        q = Decimal("0.000001")
        return wire.pnl_point(
            int(data.wall(t)),
            block_at(t),
            trades,
            realized.quantize(q),
            unrealized.quantize(q),
            shares,
            usdc.quantize(q),
            fees.quantize(q),
        )
