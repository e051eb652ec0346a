"""The exchange's HTTP routes under ``/clob`` (and ``/sim/exchange/<knob>``): HTTP only.

Every handler goes through :meth:`ExchangeRoutes._answer`: read the body, run the handler's
``build``, turn an :class:`ApiError` into ``{"error": message}`` with its status and malformed
input into 400 ``Invalid order payload``. ``_authed`` is the same with the L2 check first.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from aiohttp import web

from polytui.sim.exchange.auth import Auth, lower
from polytui.sim.exchange.heartbeats import Heartbeats
from polytui.sim.exchange.ledger import Ledger
from polytui.sim.exchange.matching import Matcher
from polytui.sim.exchange.records import ApiKey
from polytui.sim.exchange.rules import MICRO, MIN_ORDER_SIZE, TICK, ApiError, taker_base_fee
from polytui.sim.exchange.user_channel import UserChannel
from polytui.sim.exchange.wire import creds_json, failure, order_json, page, trade_json
from polytui.sim.scenario import SimMarket
from polytui.sim.signing import EXCHANGE_V2, NEG_RISK_ADAPTER, NEG_RISK_EXCHANGE_V2
from polytui.sim.wire import iso, json_response
from polytui.sim.world import SimWorld

MAX_ALLOWANCE = str(2**256 - 1)
MAX_BATCH = 15
INVALID = "Invalid order payload"

Build = Callable[[web.Request, str], Any]
Authed = Callable[[ApiKey, web.Request, str], Any]


class ExchangeRoutes:
    """aiohttp handlers over the exchange's parts; holds the one HTTP-level fault knob."""

    def __init__(
        self,
        world: SimWorld,
        auth: Auth,
        ledger: Ledger,
        matcher: Matcher,
        channel: UserChannel,
        knobs: dict[str, Callable[..., Any]],
        heartbeats: Heartbeats,
    ) -> None:
        self.world = world
        self.auth = auth
        self.ledger = ledger
        self.matcher = matcher
        self.channel = channel
        self.knobs = knobs
        self.heartbeats = heartbeats
        self.response_delay = 0.0
        self.response_fault: tuple[int, str] | None = None

    def routes(self) -> list[web.RouteDef]:
        """The trading routes (mounted by the server)."""
        p = "/clob"
        return [
            web.get(f"{p}/version", self._version),
            web.get(f"{p}/tick-size", self._tick_size),
            web.get(f"{p}/neg-risk", self._neg_risk),
            web.get(f"{p}/fee-rate", self._fee_rate),
            web.get(f"{p}/markets/{{condition_id}}", self._market),
            web.get(f"{p}/clob-markets/{{condition_id}}", self._clob_market),
            web.get(f"{p}/markets-by-token/{{token_id}}", self._market_by_token),
            web.post(f"{p}/auth/api-key", self._create_api_key),
            web.get(f"{p}/auth/derive-api-key", self._derive_api_key),
            web.get(f"{p}/auth/api-keys", self._api_keys),
            web.get(f"{p}/balance-allowance", self._balance_allowance),
            web.get(f"{p}/balance-allowance/update", self._update_balance_allowance),
            web.post(f"{p}/order", self._post_order),
            web.post(f"{p}/orders", self._post_orders),
            web.delete(f"{p}/order", self._cancel_order),
            web.delete(f"{p}/orders", self._cancel_orders),
            web.delete(f"{p}/cancel-all", self._cancel_all),
            web.delete(f"{p}/cancel-market-orders", self._cancel_market_orders),
            web.get(f"{p}/data/orders", self._open_orders),
            web.get(f"{p}/data/order/{{order_id}}", self._get_order),
            web.get(f"{p}/data/trades", self._trades),
            web.post(f"{p}/v1/heartbeats", self._heartbeat),
            web.get("/ws/user", self.channel.ws),
            web.post("/sim/exchange/{knob}", self._knob),
        ]

    # --- the skeleton ---------------------------------------------------------------------------

    async def _answer(self, request: web.Request, build: Build) -> web.Response:
        text = await request.text()
        try:
            result = build(request, text)
            if inspect.isawaitable(result):
                result = await result
        except ApiError as err:
            return json_response({"error": err.message, **err.extra}, status=err.status)
        except ValueError:
            return json_response({"error": INVALID}, status=400)
        return json_response(result)

    async def _authed(self, request: web.Request, build: Authed) -> web.Response:
        return await self._answer(request, lambda r, text: build(self.auth.l2(r, text), r, text))

    # --- public market parameters ---------------------------------------------------------------

    async def _version(self, request: web.Request) -> web.Response:
        return json_response({"version": 2})

    def _for_token(self, payload: dict[str, Any]) -> Build:
        """A public ``?token_id=`` route: 404 for an unknown token, else ``payload``."""

        def build(r: web.Request, _: str) -> dict[str, Any]:
            self.matcher.market_of(r.query.get("token_id", ""))
            return payload

        return build

    async def _tick_size(self, request: web.Request) -> web.Response:
        return await self._answer(request, self._for_token({"minimum_tick_size": str(TICK)}))

    async def _neg_risk(self, request: web.Request) -> web.Response:
        return await self._answer(request, self._for_token({"neg_risk": False}))

    async def _fee_rate(self, request: web.Request) -> web.Response:
        # The legacy bps field (what V1 orders signed), not the curve's rate: see taker_base_fee.
        def build(r: web.Request, _: str) -> dict[str, Any]:
            market, _yes = self.matcher.market_of(r.query.get("token_id", ""))
            return {"base_fee": taker_base_fee(market)}

        return await self._answer(request, build)

    def _by_condition(self, condition_id: str) -> SimMarket:
        for market in self.world.scenario.markets:
            if market.condition_id.lower() == condition_id.lower():
                return market
        raise ApiError(404, "market not found")

    async def _market(self, request: web.Request) -> web.Response:
        def build(r: web.Request, _: str) -> dict[str, Any]:
            return self._market_record(self._by_condition(r.match_info["condition_id"]))

        return await self._answer(request, build)

    def _market_record(self, m: SimMarket) -> dict[str, Any]:
        yes = m.yes_price(self.world.now())
        closed = self.world.is_resolved(m)
        return {
            "condition_id": m.condition_id,
            "question_id": "0x" + hashlib.sha256(m.slug.encode()).hexdigest(),
            "question": m.question,
            "market_slug": m.slug,
            "tokens": [
                {
                    "token_id": m.yes_token,
                    "outcome": "Yes",
                    "price": yes,
                    "winner": closed and m.yes_wins,
                },
                {
                    "token_id": m.no_token,
                    "outcome": "No",
                    "price": 1 - yes,
                    "winner": closed and not m.yes_wins,
                },
            ],
            "minimum_order_size": int(MIN_ORDER_SIZE),
            "minimum_tick_size": TICK,
            "neg_risk": False,
            "active": True,
            "closed": closed,
            "accepting_orders": not closed,
            "end_date_iso": iso(self.world.wall(m.end_s)),
            "maker_base_fee": 0,
            "taker_base_fee": taker_base_fee(m),
        }

    async def _clob_market(self, request: web.Request) -> web.Response:
        def build(r: web.Request, _: str) -> dict[str, Any]:
            m = self._by_condition(r.match_info["condition_id"])
            fee = m.fee or {}
            out: dict[str, Any] = {
                "c": m.condition_id,
                "t": [{"t": m.yes_token, "o": "Yes"}, {"t": m.no_token, "o": "No"}],
                "mts": TICK,
                "fd": {"r": fee.get("rate", 0), "e": fee.get("exponent", 0)},
                "mbf": 0,
                "tbf": taker_base_fee(m),
                "r": None,
            }
            if fee.get("takerOnly"):
                out["fd"]["to"] = True
            return out

        return await self._answer(request, build)

    async def _market_by_token(self, request: web.Request) -> web.Response:
        def build(r: web.Request, _: str) -> dict[str, Any]:
            m, _yes = self.matcher.market_of(r.match_info["token_id"])
            return {
                "condition_id": m.condition_id,
                "primary_token_id": m.yes_token,
                "secondary_token_id": m.no_token,
            }

        return await self._answer(request, build)

    # --- keys and balances ----------------------------------------------------------------------

    async def _create_api_key(self, request: web.Request) -> web.Response:
        auth = self.auth
        return await self._answer(request, lambda r, _: creds_json(auth.create_key(*auth.l1(r))))

    async def _derive_api_key(self, request: web.Request) -> web.Response:
        auth = self.auth
        return await self._answer(request, lambda r, _: creds_json(auth.derive_key(*auth.l1(r))))

    async def _api_keys(self, request: web.Request) -> web.Response:
        return await self._authed(request, lambda creds, r, _: {"apiKeys": [creds.key]})

    def _balances(self, creds: ApiKey, r: web.Request, *, update: bool) -> dict[str, Any]:
        maker = self.auth.maker_for(creds, int(r.query.get("signature_type", "0") or 0))
        account = self.ledger.account(maker)
        asset_type = r.query.get("asset_type", "COLLATERAL").upper()
        token = r.query.get("token_id", "")
        if asset_type not in ("COLLATERAL", "CONDITIONAL", "CONDITIONAL-V2"):
            raise ApiError(400, "Invalid asset type")
        if update:  # the CLOB reads the chain again
            self.ledger.refresh_allowance(maker, asset_type, token)
        if asset_type == "COLLATERAL":
            free, allowed = account.balance, self.ledger.collateral_allowed(maker)
        else:
            free = account.positions.get(token, Decimal(0))
            allowed = self.ledger.conditional_allowed(maker, token)
        allowances = dict.fromkeys(
            (EXCHANGE_V2, NEG_RISK_EXCHANGE_V2, NEG_RISK_ADAPTER), MAX_ALLOWANCE if allowed else "0"
        )
        return {"balance": str(int(free / MICRO)), "allowances": allowances}

    async def _balance_allowance(self, request: web.Request) -> web.Response:
        """What the CLOB has cached (allowances may be stale until an update)."""
        return await self._authed(request, lambda c, r, _: self._balances(c, r, update=False))

    async def _update_balance_allowance(self, request: web.Request) -> web.Response:
        """Refresh the cache from the chain; answers the refreshed view (clients re-read it)."""
        return await self._authed(request, lambda c, r, _: self._balances(c, r, update=True))

    # --- orders ---------------------------------------------------------------------------------

    async def _post_order(self, request: web.Request) -> web.Response:
        async def build(creds: ApiKey, r: web.Request, text: str) -> dict[str, Any]:
            reply = await self.matcher.place(creds, _json(text, dict))
            delay, self.response_delay = self.response_delay, 0.0
            if delay > 0:  # accepted and matched; only the answer is late
                await asyncio.sleep(delay)
            fault, self.response_fault = self.response_fault, None
            if fault is not None:  # accepted and matched; the gateway answers an error
                raise ApiError(*fault)
            return reply

        return await self._authed(request, build)

    async def _post_orders(self, request: web.Request) -> web.Response:
        async def build(creds: ApiKey, r: web.Request, text: str) -> list[dict[str, Any]]:
            payloads = _json(text, list)
            if len(payloads) > MAX_BATCH:
                raise ApiError(
                    400, f"Too many orders in payload: {len(payloads)}, max allowed: {MAX_BATCH}"
                )
            replies = []
            for payload in payloads:
                try:
                    if not isinstance(payload, dict):
                        raise ApiError(400, INVALID)
                    replies.append(await self.matcher.place(creds, payload))
                except ApiError as err:
                    replies.append(failure(err.message))
            return replies

        return await self._authed(request, build)

    async def _cancel_order(self, request: web.Request) -> web.Response:
        async def build(creds: ApiKey, r: web.Request, text: str) -> dict[str, Any]:
            body = json.loads(text) if text else {}
            order_id = body.get("orderID") if isinstance(body, dict) else None
            if not isinstance(order_id, str) or not order_id:
                raise ApiError(400, "Invalid orderID")
            return await self.matcher.cancel(creds, [order_id])

        return await self._authed(request, build)

    async def _cancel_orders(self, request: web.Request) -> web.Response:
        async def build(creds: ApiKey, r: web.Request, text: str) -> dict[str, Any]:
            ids = _json(text, list) if text else []
            return await self.matcher.cancel(creds, [str(i) for i in ids])

        return await self._authed(request, build)

    async def _cancel_all(self, request: web.Request) -> web.Response:
        async def build(creds: ApiKey, r: web.Request, text: str) -> dict[str, Any]:
            return await self.matcher.cancel(creds, [o.id for o in self.matcher.open_orders(creds)])

        return await self._authed(request, build)

    async def _cancel_market_orders(self, request: web.Request) -> web.Response:
        async def build(creds: ApiKey, r: web.Request, text: str) -> dict[str, Any]:
            body = _json(text, dict) if text else {}
            ids = [
                o.id
                for o in self.matcher.open_orders(creds)
                if body.get("market") in (None, "", o.market.condition_id)
                and body.get("asset_id") in (None, "", o.token)
            ]
            return await self.matcher.cancel(creds, ids)

        return await self._authed(request, build)

    # --- queries --------------------------------------------------------------------------------

    async def _open_orders(self, request: web.Request) -> web.Response:
        def build(creds: ApiKey, r: web.Request, _: str) -> dict[str, Any]:
            q = r.query
            rows = [
                order_json(o)
                for o in self.matcher.open_orders(creds)
                if q.get("id") in (None, "", o.id)
                and q.get("market") in (None, "", o.market.condition_id)
                and q.get("asset_id") in (None, "", o.token)
            ]
            return page(rows)

        return await self._authed(request, build)

    async def _get_order(self, request: web.Request) -> web.Response:
        def build(creds: ApiKey, r: web.Request, _: str) -> dict[str, Any]:
            order = self.matcher.orders.get(r.match_info["order_id"])
            if order is None or order.address != lower(creds.address):
                raise ApiError(404, "order not found")
            return order_json(order)

        return await self._authed(request, build)

    async def _trades(self, request: web.Request) -> web.Response:
        def build(creds: ApiKey, r: web.Request, _: str) -> dict[str, Any]:
            q = r.query
            after = int(q.get("after") or 0)
            before = int(q.get("before") or 0)
            rows = [
                row
                for f in self.matcher.fills
                if f.order.address == lower(creds.address)
                and q.get("id") in (None, "", f.id)
                and q.get("market") in (None, "", f.order.market.condition_id)
                and q.get("maker_address", "").lower() in ("", f.order.maker)
                and (not after or f.match_time >= after)
                and (not before or f.match_time <= before)
                # asset_id is the trade's (the taker's) token, not necessarily our order's
                and q.get("asset_id") in (None, "", (row := trade_json(f))["asset_id"])
            ]
            return page(list(reversed(rows)))

        return await self._authed(request, build)

    async def _heartbeat(self, request: web.Request) -> web.Response:
        def build(creds: ApiKey, r: web.Request, text: str) -> dict[str, Any]:
            body = _json(text, dict) if text else {}
            return self.heartbeats.beat(creds.address, str(body.get("heartbeat_id") or ""))

        return await self._authed(request, build)

    # --- fault knobs over HTTP ------------------------------------------------------------------

    async def _knob(self, request: web.Request) -> web.Response:
        knob = self.knobs.get(request.match_info["knob"])
        if knob is None:
            return json_response({"error": "unknown knob"}, status=404)
        try:
            kwargs = await request.json() if request.can_read_body else {}
            result = knob(**(kwargs or {}))
        except (TypeError, ValueError, KeyError) as exc:
            return json_response({"error": str(exc)}, status=400)
        return json_response({"ok": True, "result": result})


def _json(text: str, kind: type) -> Any:
    """The body parsed as a JSON ``kind`` (dict or list), or the CLOB's payload refusal."""
    value = json.loads(text)
    if not isinstance(value, kind):
        raise ApiError(400, INVALID)
    return value
