"""The simulator's exchange: CLOB V2 order entry, matching, settlement and the user channel.

Speaks the real protocol (PROTOCOL.md §1b, §2, §7) under the simulator's ``/clob`` prefix, so the
official ``py-clob-client-v2`` works with ``host = sim.urls["clob_rest_url"]`` and ``chain_id=137``.
L2 HMACs sign the path *without* the ``/clob`` prefix (``/order``, ``/data/orders`` …), exactly as
they sign paths relative to ``https://clob.polymarket.com``. Errors are ``{"error": "<message>"}``
with the real messages and HTTP statuses (docs.polymarket.com resources/error-codes).

Endpoints (prefix ``/clob``):

- ``GET /time`` (unix s), ``GET /version`` → ``{"version": 2}``, ``GET /tick-size``, ``/neg-risk``,
  ``/fee-rate``, ``/markets/{condition_id}``, ``/clob-markets/{condition_id}``,
  ``/markets-by-token/{token_id}`` — what the official client asks before it signs.
- L1 (``POLY_ADDRESS``, ``POLY_SIGNATURE`` = ClobAuth EIP-712, ``POLY_TIMESTAMP``, ``POLY_NONCE``):
  ``POST /auth/api-key`` (400 ``Could not create api key`` if that address+nonce already has
  one), ``GET /auth/derive-api-key`` (always works) → ``{apiKey, secret, passphrase}``,
  deterministic per (seed, address, nonce). Bad headers: 401 ``Invalid L1 Request headers``.
- L2 (``POLY_ADDRESS``, ``POLY_SIGNATURE`` = HMAC, ``POLY_TIMESTAMP`` within ±``AUTH_WINDOW_S``,
  ``POLY_API_KEY``, ``POLY_PASSPHRASE``; anything wrong: 401 ``Unauthorized/Invalid api key``):
  ``GET /auth/api-keys``; ``GET /balance-allowance?asset_type=COLLATERAL|CONDITIONAL&token_id=``
  → ``{"balance": "<6-dp base units>", "allowances": {<exchange>: "<base units>", …}}`` (every
  address starts with ``default_balance`` pUSD); ``GET /balance-allowance/update``;
  ``POST /order``, ``POST /orders``; ``DELETE /order`` ``{"orderID"}``, ``DELETE /orders``
  ``[ids]``, ``DELETE /cancel-all``, ``DELETE /cancel-market-orders`` → ``{canceled,
  not_canceled}``; ``GET /data/orders`` (open orders), ``GET /data/order/{id}``,
  ``GET /data/trades`` (the key owner's trades) → ``{data, next_cursor: "LTE=", limit, count}``.

``POST /order`` checks, in order: V1-shaped body → 400 ``order_version_mismatch``; malformed → 400
``Invalid order payload``; ``owner`` ≠ the API key → ``the order owner has to be the owner of the
API KEY``; signer ≠ the key's address → ``the order signer address has to be the address of the API
KEY``; EIP-712 signer recovery under domain ("Polymarket CTF Exchange", "2", 137, V2 exchange) ≠
signer, or maker not allowed for the signature type (EOA: maker = signer; POLY_PROXY /
POLY_GNOSIS_SAFE: maker = the signer's funder, bound on first use or by ``link_wallet``; POLY_1271:
the wrapped inner signature recovers the key's address) → ``invalid signature`` (a wrong domain
version or exchange lands here too); unknown token → 404 ``market not found``; price
(makerAmount/takerAmount) off the 0.01 tick → ``order {id} is invalid. Price (p) breaks minimum
tick size rule: 0.01``; shares below 5 → ``… Size (s) lower than the minimum: 5``; GTD expiration
less than a minute ahead → ``invalid expiration``; same order hash again → ``… Duplicated.``; pUSD
(BUY: makerAmount + taker fee) or shares (SELL) beyond what is free → ``not enough balance /
allowance``. Then it matches against the simulator's book (best level first, at the book's prices,
never past the order's limit; one trade per level; the taker pays the market's curved fee in pUSD,
PROTOCOL.md §6): FOK all-or-400 ``order couldn't be fully filled. FOK orders are fully filled or
killed.``, FAK some-or-400 ``no orders found to match with FAK order. …``, GTC/GTD rest the
remainder (and fill later when the book comes to them, as maker, no fee). ``postOnly`` that crosses
→ ``invalid post-only order: order crosses book``. Reply: ``{success, errorMsg, orderID, status:
matched|live|delayed, makingAmount, takingAmount, transactionsHashes, tradeIDs}`` with amounts as
decimal strings ("" when nothing matched); ``orderID`` is the EIP-712 order hash, which a client
can compute before it posts (and look up with ``GET /data/order/{id}`` after a timeout). Consumed
liquidity leaves the book (REST and market WS) until the book's next step.

Settlement: each trade goes MATCHED → MINED (``mined_after_s`` sim seconds later; balance and
position change here) → CONFIRMED (``confirmed_after_s``), or with ``fail_next_match``
MATCHED → RETRYING → FAILED with balance and position untouched. ``/data/positions?user=`` and
``/data/trades?user=`` on the simulator's data-api report the positions and the settled fills.

User channel: ``ws://…/ws/user``; first frame ``{"auth": {apiKey, secret, passphrase},
"markets": [condition ids, optional], "type": "user"}`` (bad auth: the socket is closed with 1008),
``{"operation": "subscribe"|"unsubscribe", "markets": [...]}`` later, text ``PING`` → ``PONG``.
Events for the key's address: ``order`` PLACEMENT (status LIVE, or DELAYED) for every accepted
order, UPDATE after each fill, CANCELLATION when cancelled or when a FAK/FOK remainder dies;
``trade`` events at every status change (taker and maker fills alike).

Fault knobs (``sim.trading.<knob>``; also ``POST /sim/trading/<knob>`` with a JSON object of
keyword arguments, for a simulator in another process):

- ``delay_next_response(seconds)``: the next ``POST /order`` is accepted and matched at once but its
  HTTP reply is held for ``seconds`` — a client timing out must reconcile, not resend.
- ``fail_next_match()``: every trade of the next matching order goes MATCHED → RETRYING → FAILED.
- ``delay_next_match(seconds)``: the next marketable order replies ``status: "delayed"`` and is
  matched ``seconds`` (wall) later.
- ``seed_open_order(address, token_id, side, price, size, order_type="GTC")`` → order id: a LIVE
  order of that address (owned by its nonce-0 API key) that no client placed.
- ``seed_position(address, token_id, size, avg_price)``, ``set_balance(address, usd)``,
  ``link_wallet(signer, funder)``.

Helpers for tests: ``api_key(address)`` gives an address's credentials without L1;
``accounts``, ``orders`` and ``fills`` hold the exchange's state; ``mined_after_s``,
``confirmed_after_s`` and ``retry_after_s`` (sim seconds) pace settlement; ``default_balance``
seeds new accounts.

Everything is deterministic: ids, salts of seeded orders, trade ids and transaction hashes are
hashes of (seed, counter); creds are hashes of (seed, address, nonce).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from aiohttp import WSCloseCode, WSMsgType, web
from eth_utils import to_checksum_address

from polytui.execution.fees import taker_fee
from polytui.model import FeeSchedule
from polytui.sim.scenario import SimMarket
from polytui.sim.signing import (
    CHAIN_ID,
    EXCHANGE_V2,
    NEG_RISK_ADAPTER,
    NEG_RISK_EXCHANGE_V2,
    SIG_EOA,
    SIG_POLY_1271,
    OrderV2,
    exchange_domain,
    hmac_signature,
    order_v2_typed_data,
    recover_clob_auth,
    recover_poly1271,
    recover_typed_data,
    typed_data_hash,
)
from polytui.sim.wire import dumps, iso, json_response

if TYPE_CHECKING:
    from polytui.sim.server import SimServer

log = logging.getLogger(__name__)

MICRO = Decimal("0.000001")
TICK = Decimal("0.01")
MIN_ORDER_SIZE = Decimal(5)
AUTH_WINDOW_S = 60
END_CURSOR = "LTE="
MAX_ALLOWANCE = str(2**256 - 1)
ORDER_TYPES = ("GTC", "GTD", "FOK", "FAK")
GTD_MIN_S = 60  # the CLOB's security threshold: a GTD order must live at least a minute


class ApiError(Exception):
    """An error reply ``{"error": message}`` with an HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class ApiKey:
    """L2 credentials of one address."""

    key: str
    secret: str = field(repr=False)
    passphrase: str = field(repr=False)
    address: str = ""


@dataclass(slots=True)
class SimAccount:
    """pUSD and positions of one maker (funder) address."""

    address: str
    balance: Decimal
    positions: dict[str, Decimal] = field(default_factory=dict)
    cost: dict[str, Decimal] = field(default_factory=dict)
    reserved_usd: Decimal = Decimal(0)
    reserved_shares: dict[str, Decimal] = field(default_factory=dict)


@dataclass(slots=True)
class SimOrder:
    """An order the exchange accepted."""

    id: str
    owner: str
    address: str
    maker: str
    market: SimMarket
    token: str
    outcome: str
    side: str
    price: Decimal
    size: Decimal
    order_type: str
    created_at: int
    expiration: int
    post_only: bool = False
    matched: Decimal = Decimal(0)
    status: str = "LIVE"
    trades: list[str] = field(default_factory=list)

    @property
    def remaining(self) -> Decimal:
        """Shares still unfilled."""
        return self.size - self.matched


@dataclass(slots=True)
class SimFill:
    """One trade: a fill of one of our orders against one book level."""

    id: str
    order: SimOrder
    role: str
    size: Decimal
    price: Decimal
    fee: Decimal
    counter_order: str
    counter_address: str
    tx_hash: str
    match_time: int
    status: str = "MATCHED"
    last_update: int = 0
    fail: bool = False


def _num(value: Decimal) -> str:
    """Decimal → plain string without exponent or trailing zeros ("0.57", "10")."""
    text = format(value.normalize(), "f")
    return text if "." not in text else text.rstrip("0").rstrip(".") or "0"


def _lower(address: str) -> str:
    return address.lower()


class Exchange:
    """Order entry, matching and settlement for one :class:`SimServer`."""

    def __init__(self, server: SimServer) -> None:
        self.server = server
        self.seed = server.scenario.seed
        self.chain_id = CHAIN_ID
        self.default_balance = Decimal(1000)
        self.mined_after_s = 2.0
        self.confirmed_after_s = 4.0
        self.retry_after_s = 2.0
        self.strict_funders = False
        self.accounts: dict[str, SimAccount] = {}
        self.keys: dict[str, ApiKey] = {}
        self.created: set[tuple[str, int]] = set()
        self.funders: dict[str, str] = {}
        self.orders: dict[str, SimOrder] = {}
        self.fills: list[SimFill] = []
        self.consumed: dict[tuple[str, int, str, Decimal], Decimal] = {}
        self.counter = 0
        self._response_delay = 0.0
        self._fail_next = False
        self._match_delay: float | None = None
        self._user_clients: list[tuple[web.WebSocketResponse, ApiKey, set[str]]] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    # --- wiring ---------------------------------------------------------------------------------

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
            web.get(f"{p}/balance-allowance/update", self._balance_allowance),
            web.post(f"{p}/order", self._post_order),
            web.post(f"{p}/orders", self._post_orders),
            web.delete(f"{p}/order", self._cancel_order),
            web.delete(f"{p}/orders", self._cancel_orders),
            web.delete(f"{p}/cancel-all", self._cancel_all),
            web.delete(f"{p}/cancel-market-orders", self._cancel_market_orders),
            web.get(f"{p}/data/orders", self._open_orders),
            web.get(f"{p}/data/order/{{order_id}}", self._get_order),
            web.get(f"{p}/data/trades", self._trades),
            web.get("/ws/user", self.ws_user),
            web.post("/sim/trading/{knob}", self._knob),
        ]

    async def close(self) -> None:
        """Cancel pending settlement tasks and close user sockets."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for ws, _, _ in list(self._user_clients):
            with contextlib.suppress(Exception):
                await ws.close()

    async def drop_user_sockets(self) -> int:
        """Close every user-channel socket (clients must reconnect and re-authenticate)."""
        sockets = [ws for ws, _, _ in self._user_clients]
        for ws in sockets:
            with contextlib.suppress(Exception):
                await ws.close()
        return len(sockets)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _sim_sleep(self, sim_seconds: float) -> Awaitable[None]:
        return asyncio.sleep(sim_seconds / self.server.speed)

    def _next(self, *parts: object) -> str:
        self.counter += 1
        return hashlib.sha256(repr((self.seed, self.counter, *parts)).encode()).hexdigest()

    # --- fault knobs and seeding ----------------------------------------------------------------

    def delay_next_response(self, seconds: float) -> None:
        """Accept and match the next ``POST /order`` at once, but hold its reply ``seconds``."""
        self._response_delay = float(seconds)

    def fail_next_match(self) -> None:
        """Every trade of the next matching order goes MATCHED → RETRYING → FAILED."""
        self._fail_next = True

    def delay_next_match(self, seconds: float) -> None:
        """The next marketable order replies ``delayed`` and matches ``seconds`` later."""
        self._match_delay = float(seconds)

    def set_balance(self, address: str, usd: Decimal | str | int) -> None:
        """Set an address's pUSD balance."""
        self.account(address).balance = Decimal(str(usd))

    def link_wallet(self, signer: str, funder: str) -> None:
        """Bind a proxy / safe / deposit wallet (maker) to its signer EOA."""
        self.funders[_lower(funder)] = _lower(signer)

    def seed_position(
        self, address: str, token_id: str, size: Decimal | str, avg_price: Decimal | str
    ) -> None:
        """Give an address a position the client never traded (start-up reconciliation)."""
        account = self.account(address)
        shares = Decimal(str(size))
        account.positions[token_id] = account.positions.get(token_id, Decimal(0)) + shares
        account.cost[token_id] = account.cost.get(token_id, Decimal(0)) + shares * Decimal(
            str(avg_price)
        )

    def seed_open_order(
        self,
        address: str,
        token_id: str,
        side: str,
        price: Decimal | str,
        size: Decimal | str,
        order_type: str = "GTC",
    ) -> str:
        """A LIVE order of ``address`` (owned by its nonce-0 API key) that no client placed."""
        market, is_yes = self.server.scenario.token_index()[token_id]
        key = self.api_key(address)
        order = SimOrder(
            id="0x" + self._next("seeded", address, token_id),
            owner=key.key,
            address=_lower(key.address),
            maker=_lower(address),
            market=market,
            token=token_id,
            outcome="Yes" if is_yes else "No",
            side=side.upper(),
            price=Decimal(str(price)),
            size=Decimal(str(size)),
            order_type=order_type,
            created_at=int(time.time()),
            expiration=0,
        )
        self.orders[order.id] = order
        return order.id

    async def _knob(self, request: web.Request) -> web.Response:
        knobs: dict[str, Callable[..., Any]] = {
            "delay_next_response": self.delay_next_response,
            "fail_next_match": self.fail_next_match,
            "delay_next_match": self.delay_next_match,
            "set_balance": self.set_balance,
            "link_wallet": self.link_wallet,
            "seed_position": self.seed_position,
            "seed_open_order": self.seed_open_order,
        }
        knob = knobs.get(request.match_info["knob"])
        if knob is None:
            return json_response({"error": "unknown knob"}, status=404)
        try:
            kwargs = await request.json() if request.can_read_body else {}
            result = knob(**(kwargs or {}))
        except (TypeError, ValueError, KeyError) as exc:
            return json_response({"error": str(exc)}, status=400)
        return json_response({"ok": True, "result": result})

    # --- accounts and credentials ---------------------------------------------------------------

    def account(self, address: str) -> SimAccount:
        """The account of a maker address (created with the default balance)."""
        key = _lower(address)
        if key not in self.accounts:
            self.accounts[key] = SimAccount(key, self.default_balance)
        return self.accounts[key]

    def api_key(self, address: str, nonce: int = 0) -> ApiKey:
        """Deterministic L2 credentials of (seed, address, nonce)."""
        digest = hashlib.sha256(f"polytui-sim:{self.seed}:{_lower(address)}:{nonce}".encode())
        raw = digest.digest()
        secret_raw = hashlib.sha256(raw + b"secret").digest()
        creds = ApiKey(
            key=str(uuid.UUID(bytes=raw[:16], version=4)),
            secret=base64.urlsafe_b64encode(secret_raw).decode("ascii"),
            passphrase=hashlib.sha256(raw + b"passphrase").hexdigest(),
            address=to_checksum_address(address),
        )
        self.keys[creds.key] = creds
        return creds

    def _l1(self, request: web.Request) -> tuple[str, int]:
        h = request.headers
        try:
            address = h["POLY_ADDRESS"]
            timestamp = h["POLY_TIMESTAMP"]
            nonce = int(h.get("POLY_NONCE", "0"))
            if abs(time.time() - int(timestamp)) > AUTH_WINDOW_S:
                raise ValueError("stale")
            signer = recover_clob_auth(
                address, timestamp, nonce, h["POLY_SIGNATURE"], self.chain_id
            )
        except (KeyError, ValueError, TypeError):
            raise ApiError(401, "Invalid L1 Request headers") from None
        if _lower(signer) != _lower(address):
            raise ApiError(401, "Invalid L1 Request headers")
        return address, nonce

    def _l2(self, request: web.Request, body: str) -> ApiKey:
        h = request.headers
        denied = ApiError(401, "Unauthorized/Invalid api key")
        creds = self.keys.get(h.get("POLY_API_KEY", ""))
        timestamp = h.get("POLY_TIMESTAMP", "")
        if creds is None or not timestamp.isdigit():
            raise denied
        if abs(time.time() - int(timestamp)) > AUTH_WINDOW_S:
            raise denied
        if h.get("POLY_PASSPHRASE") != creds.passphrase:
            raise denied
        if _lower(h.get("POLY_ADDRESS", "")) != _lower(creds.address):
            raise denied
        path = request.path.removeprefix("/clob")
        expected = hmac_signature(creds.secret, timestamp, request.method, path, body)
        if not _same_b64(h.get("POLY_SIGNATURE", ""), expected):
            raise denied
        return creds

    # --- public market parameters ---------------------------------------------------------------

    def _market_of(self, token: str) -> tuple[SimMarket, bool]:
        found = self.server.scenario.token_index().get(token)
        if found is None:
            raise ApiError(404, "market not found")
        return found

    async def _version(self, request: web.Request) -> web.Response:
        return json_response({"version": 2})

    async def _tick_size(self, request: web.Request) -> web.Response:
        return await _reply(request, self._tick_body)

    def _tick_body(self, request: web.Request) -> dict[str, Any]:
        self._market_of(request.query.get("token_id", ""))
        return {"minimum_tick_size": str(TICK)}

    async def _neg_risk(self, request: web.Request) -> web.Response:
        def body(r: web.Request) -> dict[str, Any]:
            self._market_of(r.query.get("token_id", ""))
            return {"neg_risk": False}

        return await _reply(request, body)

    async def _fee_rate(self, request: web.Request) -> web.Response:
        def body(r: web.Request) -> dict[str, Any]:
            self._market_of(r.query.get("token_id", ""))
            return {"base_fee": 0}

        return await _reply(request, body)

    def _by_condition(self, condition_id: str) -> SimMarket:
        for market in self.server.scenario.markets:
            if market.condition_id.lower() == condition_id.lower():
                return market
        raise ApiError(404, "market not found")

    async def _market(self, request: web.Request) -> web.Response:
        def body(r: web.Request) -> dict[str, Any]:
            m = self._by_condition(r.match_info["condition_id"])
            t = self.server.now()
            yes = m.yes_price(t)
            closed = m.index in self.server._resolved
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
                "end_date_iso": iso(self.server.wall(m.end_s)),
                "maker_base_fee": 0,
                "taker_base_fee": _taker_base_fee(m),
            }

        return await _reply(request, body)

    async def _clob_market(self, request: web.Request) -> web.Response:
        def body(r: web.Request) -> dict[str, Any]:
            m = self._by_condition(r.match_info["condition_id"])
            fee = m.fee or {}
            out: dict[str, Any] = {
                "c": m.condition_id,
                "t": [{"t": m.yes_token, "o": "Yes"}, {"t": m.no_token, "o": "No"}],
                "mts": TICK,
                "fd": {"r": fee.get("rate", 0), "e": fee.get("exponent", 0)},
                "mbf": 0,
                "tbf": _taker_base_fee(m),
                "r": None,
            }
            if fee.get("takerOnly"):
                out["fd"]["to"] = True
            return out

        return await _reply(request, body)

    async def _market_by_token(self, request: web.Request) -> web.Response:
        def body(r: web.Request) -> dict[str, Any]:
            m, _ = self._market_of(r.match_info["token_id"])
            return {
                "condition_id": m.condition_id,
                "primary_token_id": m.yes_token,
                "secondary_token_id": m.no_token,
            }

        return await _reply(request, body)

    # --- auth endpoints -------------------------------------------------------------------------

    async def _create_api_key(self, request: web.Request) -> web.Response:
        def body(r: web.Request) -> dict[str, Any]:
            address, nonce = self._l1(r)
            if (_lower(address), nonce) in self.created:
                raise ApiError(400, "Could not create api key")
            self.created.add((_lower(address), nonce))
            return _creds_json(self.api_key(address, nonce))

        return await _reply(request, body)

    async def _derive_api_key(self, request: web.Request) -> web.Response:
        def body(r: web.Request) -> dict[str, Any]:
            address, nonce = self._l1(r)
            self.created.add((_lower(address), nonce))
            return _creds_json(self.api_key(address, nonce))

        return await _reply(request, body)

    async def _api_keys(self, request: web.Request) -> web.Response:
        text = await request.text()
        return await _reply(request, lambda r: {"apiKeys": [self._l2(r, text).key]})

    async def _balance_allowance(self, request: web.Request) -> web.Response:
        text = await request.text()

        def body(r: web.Request) -> dict[str, Any]:
            creds = self._l2(r, text)
            maker = self._maker_for(creds, int(r.query.get("signature_type", "0") or 0))
            account = self.account(maker)
            asset_type = r.query.get("asset_type", "COLLATERAL").upper()
            if asset_type == "COLLATERAL":
                free = account.balance
            elif asset_type in ("CONDITIONAL", "CONDITIONAL-V2"):
                free = account.positions.get(r.query.get("token_id", ""), Decimal(0))
            else:
                raise ApiError(400, "Invalid asset type")
            allowances = {
                EXCHANGE_V2: MAX_ALLOWANCE,
                NEG_RISK_EXCHANGE_V2: MAX_ALLOWANCE,
                NEG_RISK_ADAPTER: MAX_ALLOWANCE,
            }
            return {"balance": str(int(free / MICRO)), "allowances": allowances}

        return await _reply(request, body)

    def _maker_for(self, creds: ApiKey, signature_type: int) -> str:
        if signature_type == SIG_EOA:
            return creds.address
        for funder, signer in self.funders.items():
            if signer == _lower(creds.address):
                return funder
        return creds.address

    # --- orders ---------------------------------------------------------------------------------

    async def _post_order(self, request: web.Request) -> web.Response:
        text = await request.text()
        try:
            creds = self._l2(request, text)
            payload = json.loads(text)
            if not isinstance(payload, dict):
                raise ApiError(400, "Invalid order payload")
            reply = await self._place(creds, payload)
        except ApiError as err:
            return json_response({"error": err.message}, status=err.status)
        except ValueError:
            return json_response({"error": "Invalid order payload"}, status=400)
        delay, self._response_delay = self._response_delay, 0.0
        if delay > 0:
            await asyncio.sleep(delay)
        return json_response(reply)

    async def _post_orders(self, request: web.Request) -> web.Response:
        text = await request.text()
        try:
            creds = self._l2(request, text)
            payloads = json.loads(text)
            if not isinstance(payloads, list):
                raise ApiError(400, "Invalid order payload")
            if len(payloads) > 15:
                raise ApiError(400, f"Too many orders in payload: {len(payloads)}, max allowed: 15")
        except ApiError as err:
            return json_response({"error": err.message}, status=err.status)
        except ValueError:
            return json_response({"error": "Invalid order payload"}, status=400)
        replies = []
        for payload in payloads:
            try:
                if not isinstance(payload, dict):
                    raise ApiError(400, "Invalid order payload")
                replies.append(await self._place(creds, payload))
            except ApiError as err:
                replies.append(_failure(err.message))
        return json_response(replies)

    def _verify(self, creds: ApiKey, payload: dict[str, Any]) -> tuple[OrderV2, str, str]:
        wire = payload.get("order")
        if not isinstance(wire, dict):
            raise ApiError(400, "Invalid order payload")
        if "timestamp" not in wire or any(k in wire for k in ("nonce", "feeRateBps", "taker")):
            raise ApiError(400, "order_version_mismatch")
        try:
            order = OrderV2.from_wire(wire)
            signature = str(wire["signature"])
        except (KeyError, ValueError, TypeError):
            raise ApiError(400, "Invalid order payload") from None
        if payload.get("owner") != creds.key:
            raise ApiError(400, "the order owner has to be the owner of the API KEY")
        key_address = _lower(creds.address)
        domain = exchange_domain(EXCHANGE_V2, self.chain_id)
        typed = order_v2_typed_data(order, domain)
        order_id = typed_data_hash(typed)
        invalid = ApiError(400, "invalid signature")
        if order.signature_type == SIG_POLY_1271:
            if _lower(order.maker) != _lower(order.signer):
                raise invalid
            try:
                owner = recover_poly1271(order, signature, domain, self.chain_id)
            except (ValueError, TypeError):
                raise invalid from None
            if _lower(owner) != key_address:
                raise ApiError(400, "the order signer address has to be the address of the API KEY")
            self._bind(order.maker, owner, invalid)
            return order, order_id, signature
        if _lower(order.signer) != key_address:
            raise ApiError(400, "the order signer address has to be the address of the API KEY")
        try:
            recovered = recover_typed_data(typed, signature)
        except (ValueError, TypeError):
            raise invalid from None
        if _lower(recovered) != _lower(order.signer):
            raise invalid
        if order.signature_type == SIG_EOA:
            if _lower(order.maker) != _lower(order.signer):
                raise invalid
        else:
            self._bind(order.maker, order.signer, invalid)
        return order, order_id, signature

    def _bind(self, funder: str, signer: str, error: ApiError) -> None:
        bound = self.funders.get(_lower(funder))
        if bound is None and not self.strict_funders:
            self.funders[_lower(funder)] = _lower(signer)
            return
        if bound != _lower(signer):
            raise error

    async def _place(self, creds: ApiKey, payload: dict[str, Any]) -> dict[str, Any]:
        order, order_id, _ = self._verify(creds, payload)
        token = str(order.token_id)
        market, is_yes = self._market_of(token)
        order_type = str(payload.get("orderType", "GTC")).upper()
        if order_type not in ORDER_TYPES:
            raise ApiError(400, "Invalid order payload")
        if market.index in self.server._resolved:
            raise ApiError(400, "the market is not yet ready to process new orders")
        buy = order.side == 0
        shares_micro = order.taker_amount if buy else order.maker_amount
        usd_micro = order.maker_amount if buy else order.taker_amount
        price = Decimal(usd_micro) / Decimal(shares_micro)
        on_tick = (price / TICK).quantize(Decimal(1)) * TICK
        if abs(price - on_tick) > TICK / 100 or not TICK <= on_tick <= 1 - TICK:
            shown = _num(price.quantize(MICRO)) if price < 1 else _num(price)
            raise ApiError(
                400,
                f"order {order_id} is invalid. Price ({shown}) breaks minimum tick size rule: "
                f"{_num(TICK)}",
            )
        shares = Decimal(shares_micro) * MICRO
        if shares < MIN_ORDER_SIZE:
            raise ApiError(
                400,
                f"order {order_id} is invalid. Size ({_num(shares)}) lower than the minimum: "
                f"{_num(MIN_ORDER_SIZE)}",
            )
        expiration = int(payload["order"].get("expiration", 0) or 0)
        if order_type == "GTD" and expiration < int(time.time()) + GTD_MIN_S:
            raise ApiError(400, "invalid expiration")
        if order_id in self.orders:
            raise ApiError(400, f"order {order_id} is invalid. Duplicated.")
        account = self.account(order.maker)
        schedule = _schedule(market)
        if buy:
            need = Decimal(usd_micro) * MICRO + taker_fee(shares, on_tick, schedule)
            if need > self._free_usd(account):
                raise ApiError(400, "not enough balance / allowance")
        elif shares > self._free_shares(account, token):
            raise ApiError(400, "not enough balance / allowance")
        sim_order = SimOrder(
            id=order_id,
            owner=creds.key,
            address=_lower(creds.address),
            maker=_lower(order.maker),
            market=market,
            token=token,
            outcome="Yes" if is_yes else "No",
            side="BUY" if buy else "SELL",
            price=on_tick,
            size=shares,
            order_type=order_type,
            created_at=int(time.time()),
            expiration=expiration,
            post_only=bool(payload.get("postOnly")),
        )
        levels = self._levels(sim_order)
        if sim_order.post_only and levels:
            raise ApiError(400, "invalid post-only order: order crosses book")
        if self._match_delay is not None and levels:
            delay, self._match_delay = self._match_delay, None
            self._check_fillable(sim_order, levels)
            sim_order.status = "DELAYED"
            self.orders[order_id] = sim_order
            await self._emit_order(sim_order, "PLACEMENT")
            self._spawn(self._delayed_match(sim_order, delay))
            return _success(order_id, "delayed", [])
        self._check_fillable(sim_order, levels)
        self.orders[order_id] = sim_order
        placement = self._order_event(sim_order, "PLACEMENT")
        fills = self._fill(sim_order, levels, "TAKER")
        killed = self._close_taker(sim_order)
        await self._send_order(sim_order, placement)
        await self._announce(sim_order, fills)
        if killed:
            await self._emit_order(sim_order, "CANCELLATION")
        return _success(order_id, "matched" if fills else "live", fills)

    def _check_fillable(self, order: SimOrder, levels: list[tuple[Decimal, Decimal]]) -> None:
        available = sum((size for _, size in levels), Decimal(0))
        if order.order_type == "FOK" and available < order.size:
            raise ApiError(
                400, "order couldn't be fully filled. FOK orders are fully filled or killed."
            )
        if order.order_type == "FAK" and available <= 0:
            raise ApiError(
                400,
                "no orders found to match with FAK order. FAK orders are partially filled or "
                "killed if no match is found.",
            )

    async def _delayed_match(self, order: SimOrder, delay: float) -> None:
        await asyncio.sleep(delay)
        if order.status != "DELAYED":
            return
        order.status = "LIVE"
        levels = self._levels(order)
        if order.order_type == "FOK" and sum((s for _, s in levels), Decimal(0)) < order.size:
            levels = []
        await self._match(order, levels, "TAKER")
        await self._finish_taker(order)

    async def _finish_taker(self, order: SimOrder) -> None:
        if self._close_taker(order):
            await self._emit_order(order, "CANCELLATION")

    def _close_taker(self, order: SimOrder) -> bool:
        """Settle a taker's status after matching; True when a FAK/FOK remainder was killed."""
        if order.remaining <= 0:
            order.status = "MATCHED"
        elif order.order_type in ("FAK", "FOK"):
            order.status = "CANCELED"
            return True
        return False

    def _step(self) -> int:
        from polytui.sim.server import BLOCK_S

        return int(self.server.now() // BLOCK_S)

    def _levels(self, order: SimOrder) -> list[tuple[Decimal, Decimal]]:
        """Book levels the order can take, best first, net of liquidity already consumed."""
        event = self.server._book(order.token, self.server.now())
        step = self._step()
        if order.side == "BUY":
            raw = [(Decimal(lvl["price"]), Decimal(lvl["size"])) for lvl in event["asks"]]
            raw.sort(key=lambda lvl: lvl[0])
            usable = [lvl for lvl in raw if lvl[0] <= order.price]
            book_side = "SELL"
        else:
            raw = [(Decimal(lvl["price"]), Decimal(lvl["size"])) for lvl in event["bids"]]
            raw.sort(key=lambda lvl: -lvl[0])
            usable = [lvl for lvl in raw if lvl[0] >= order.price]
            book_side = "BUY"
        out = []
        for price, size in usable:
            left = size - self.consumed.get((order.token, step, book_side, price), Decimal(0))
            if left > 0:
                out.append((price, left))
        return out

    def adjust_book(self, event: dict[str, Any], step: int) -> dict[str, Any]:
        """Remove consumed liquidity from a book event (levels keep their worst-first order)."""
        if not self.consumed:
            return event
        token = event["asset_id"]
        for key, book_side in (("bids", "BUY"), ("asks", "SELL")):
            levels = []
            for lvl in event[key]:
                used = self.consumed.get((token, step, book_side, Decimal(lvl["price"])))
                if used:
                    left = Decimal(lvl["size"]) - used
                    if left <= 0:
                        continue
                    lvl = {"price": lvl["price"], "size": _num(left)}
                levels.append(lvl)
            event[key] = levels
        return event

    async def _match(
        self, order: SimOrder, levels: list[tuple[Decimal, Decimal]], role: str
    ) -> list[SimFill]:
        fills = self._fill(order, levels, role)
        await self._announce(order, fills)
        return fills

    async def _announce(self, order: SimOrder, fills: list[SimFill]) -> None:
        for fill in fills:
            await self._emit_trade(fill)
            self._spawn(self._settle(fill))
        if fills:
            await self._emit_order(order, "UPDATE")

    def _fill(
        self, order: SimOrder, levels: list[tuple[Decimal, Decimal]], role: str
    ) -> list[SimFill]:
        """Take liquidity and reserve funds, without awaiting (so nothing interleaves)."""
        fills: list[SimFill] = []
        step = self._step()
        schedule = _schedule(order.market) if role == "TAKER" else None
        account = self.account(order.maker)
        fail = self._fail_next and bool(levels)
        if fail:
            self._fail_next = False
        book_side = "SELL" if order.side == "BUY" else "BUY"
        for price, size in levels:
            take = min(size, order.remaining)
            if take <= 0:
                break
            key = (order.token, step, book_side, price)
            self.consumed[key] = self.consumed.get(key, Decimal(0)) + take
            fee = taker_fee(take, price, schedule)
            now = int(time.time())
            fill = SimFill(
                id=str(uuid.UUID(hex=self._next("trade", order.id)[:32], version=4)),
                order=order,
                role=role,
                size=take,
                price=price,
                fee=fee,
                counter_order="0x" + self._next("counter", order.id),
                counter_address="0x" + self._next("counterparty")[:40],
                tx_hash="0x" + self._next("tx", order.id),
                match_time=now,
                last_update=now,
                fail=fail,
            )
            order.matched += take
            order.trades.append(fill.id)
            if order.remaining <= 0:
                order.status = "MATCHED"
            if order.side == "BUY":
                account.reserved_usd += _usd_up(take * price) + fee
            else:
                account.reserved_shares[order.token] = (
                    account.reserved_shares.get(order.token, Decimal(0)) + take
                )
            self.fills.append(fill)
            fills.append(fill)
        return fills

    async def _settle(self, fill: SimFill) -> None:
        if fill.fail:
            await self._sim_sleep(self.retry_after_s)
            await self._set_status(fill, "RETRYING")
            await self._sim_sleep(self.retry_after_s)
            self._release(fill)
            await self._set_status(fill, "FAILED")
            return
        await self._sim_sleep(self.mined_after_s)
        self._release(fill)
        self._apply(fill)
        await self._set_status(fill, "MINED")
        await self._sim_sleep(max(0.0, self.confirmed_after_s - self.mined_after_s))
        await self._set_status(fill, "CONFIRMED")

    def _release(self, fill: SimFill) -> None:
        account = self.account(fill.order.maker)
        if fill.order.side == "BUY":
            account.reserved_usd -= _usd_up(fill.size * fill.price) + fill.fee
        else:
            token = fill.order.token
            account.reserved_shares[token] = account.reserved_shares.get(token, Decimal(0)) - (
                fill.size
            )

    def _apply(self, fill: SimFill) -> None:
        account = self.account(fill.order.maker)
        token = fill.order.token
        held = account.positions.get(token, Decimal(0))
        cost = account.cost.get(token, Decimal(0))
        notional = _usd_up(fill.size * fill.price)
        if fill.order.side == "BUY":
            account.balance -= notional + fill.fee
            account.positions[token] = held + fill.size
            account.cost[token] = cost + notional
        else:
            account.balance += notional - fill.fee
            account.positions[token] = held - fill.size
            account.cost[token] = cost - (cost * fill.size / held if held else Decimal(0))

    async def _set_status(self, fill: SimFill, status: str) -> None:
        fill.status = status
        fill.last_update = int(time.time())
        await self._emit_trade(fill)

    def _free_usd(self, account: SimAccount) -> Decimal:
        locked = sum(
            (
                _usd_up(o.remaining * o.price)
                for o in self.orders.values()
                if o.maker == account.address
                and o.side == "BUY"
                and o.status in ("LIVE", "DELAYED")
            ),
            Decimal(0),
        )
        return account.balance - account.reserved_usd - locked

    def _free_shares(self, account: SimAccount, token: str) -> Decimal:
        locked = sum(
            (
                o.remaining
                for o in self.orders.values()
                if o.maker == account.address
                and o.token == token
                and o.side == "SELL"
                and o.status in ("LIVE", "DELAYED")
            ),
            Decimal(0),
        )
        held = account.positions.get(token, Decimal(0))
        return held - account.reserved_shares.get(token, Decimal(0)) - locked

    async def tick(self) -> None:
        """Fill resting orders the book has come to (as maker); expire GTD orders."""
        now = int(time.time())
        for order in list(self.orders.values()):
            if order.status != "LIVE":
                continue
            if order.order_type == "GTD" and order.expiration and order.expiration <= now:
                order.status = "CANCELED"
                await self._emit_order(order, "CANCELLATION")
                continue
            if order.market.index in self.server._resolved:
                continue
            levels = self._levels(order)
            if levels:
                await self._match(order, levels, "MAKER")
                if order.remaining <= 0:
                    order.status = "MATCHED"

    # --- cancels --------------------------------------------------------------------------------

    async def _cancel(self, creds: ApiKey, ids: list[str]) -> dict[str, Any]:
        canceled: list[str] = []
        not_canceled: dict[str, str] = {}
        for order_id in ids:
            order = self.orders.get(str(order_id))
            if order is None or order.address != _lower(creds.address):
                not_canceled[str(order_id)] = "order not found"
            elif order.status not in ("LIVE", "DELAYED"):
                not_canceled[order_id] = "order can't be found - already canceled or matched"
            else:
                order.status = "CANCELED"
                canceled.append(order_id)
                await self._emit_order(order, "CANCELLATION")
        return {"canceled": canceled, "not_canceled": not_canceled}

    async def _cancel_order(self, request: web.Request) -> web.Response:
        text = await request.text()
        try:
            creds = self._l2(request, text)
            body = json.loads(text) if text else {}
            order_id = body.get("orderID") if isinstance(body, dict) else None
            if not isinstance(order_id, str) or not order_id:
                raise ApiError(400, "Invalid orderID")
        except ApiError as err:
            return json_response({"error": err.message}, status=err.status)
        except ValueError:
            return json_response({"error": "Invalid order payload"}, status=400)
        return json_response(await self._cancel(creds, [order_id]))

    async def _cancel_orders(self, request: web.Request) -> web.Response:
        text = await request.text()
        try:
            creds = self._l2(request, text)
            ids = json.loads(text) if text else []
            if not isinstance(ids, list):
                raise ApiError(400, "Invalid order payload")
        except ApiError as err:
            return json_response({"error": err.message}, status=err.status)
        except ValueError:
            return json_response({"error": "Invalid order payload"}, status=400)
        return json_response(await self._cancel(creds, [str(i) for i in ids]))

    async def _cancel_all(self, request: web.Request) -> web.Response:
        text = await request.text()
        try:
            creds = self._l2(request, text)
        except ApiError as err:
            return json_response({"error": err.message}, status=err.status)
        ids = [o.id for o in self._open(creds)]
        return json_response(await self._cancel(creds, ids))

    async def _cancel_market_orders(self, request: web.Request) -> web.Response:
        text = await request.text()
        try:
            creds = self._l2(request, text)
            body = json.loads(text) if text else {}
            if not isinstance(body, dict):
                raise ApiError(400, "Invalid order payload")
        except ApiError as err:
            return json_response({"error": err.message}, status=err.status)
        except ValueError:
            return json_response({"error": "Invalid order payload"}, status=400)
        ids = [
            o.id
            for o in self._open(creds)
            if body.get("market") in (None, "", o.market.condition_id)
            and body.get("asset_id") in (None, "", o.token)
        ]
        return json_response(await self._cancel(creds, ids))

    # --- queries --------------------------------------------------------------------------------

    def _open(self, creds: ApiKey) -> list[SimOrder]:
        return [
            o
            for o in self.orders.values()
            if o.address == _lower(creds.address) and o.status in ("LIVE", "DELAYED")
        ]

    async def _open_orders(self, request: web.Request) -> web.Response:
        text = await request.text()

        def body(r: web.Request) -> dict[str, Any]:
            creds = self._l2(r, text)
            q = r.query
            rows = [
                _order_json(o)
                for o in self._open(creds)
                if q.get("id") in (None, "", o.id)
                and q.get("market") in (None, "", o.market.condition_id)
                and q.get("asset_id") in (None, "", o.token)
            ]
            return _page(rows)

        return await _reply(request, body)

    async def _get_order(self, request: web.Request) -> web.Response:
        text = await request.text()

        def body(r: web.Request) -> dict[str, Any]:
            creds = self._l2(r, text)
            order = self.orders.get(r.match_info["order_id"])
            if order is None or order.address != _lower(creds.address):
                raise ApiError(404, "order not found")
            return _order_json(order)

        return await _reply(request, body)

    async def _trades(self, request: web.Request) -> web.Response:
        text = await request.text()

        def body(r: web.Request) -> dict[str, Any]:
            creds = self._l2(r, text)
            q = r.query
            after = int(q.get("after") or 0)
            before = int(q.get("before") or 0)
            rows = [
                _trade_json(f)
                for f in self.fills
                if f.order.address == _lower(creds.address)
                and q.get("id") in (None, "", f.id)
                and q.get("market") in (None, "", f.order.market.condition_id)
                and q.get("asset_id") in (None, "", f.order.token)
                and q.get("maker_address", "").lower() in ("", f.order.maker)
                and (not after or f.match_time >= after)
                and (not before or f.match_time <= before)
            ]
            return _page(list(reversed(rows)))

        return await _reply(request, body)

    def dataapi_trades(self, user: str) -> list[dict[str, Any]]:
        """data-api ``/trades`` rows of ``user``'s settled (MINED / CONFIRMED) fills."""
        rows = []
        for fill in self.fills:
            order = fill.order
            if order.maker != _lower(user) or fill.status not in ("MINED", "CONFIRMED"):
                continue
            market = order.market
            rows.append(
                {
                    "proxyWallet": order.maker,
                    "side": order.side,
                    "asset": order.token,
                    "conditionId": market.condition_id,
                    "size": fill.size,
                    "price": fill.price,
                    "timestamp": fill.match_time,
                    "title": market.question,
                    "slug": market.slug,
                    "icon": "",
                    "eventSlug": market.slug,
                    "outcome": order.outcome,
                    "outcomeIndex": 0 if order.outcome == "Yes" else 1,
                    "name": "",
                    "pseudonym": "",
                    "bio": "",
                    "profileImage": "",
                    "profileImageOptimized": "",
                    "transactionHash": fill.tx_hash,
                }
            )
        return rows

    def positions(self, user: str) -> list[dict[str, Any]]:
        """data-api ``/positions`` rows of ``user`` (JSON numbers on the wire; Decimal here)."""
        account = self.accounts.get(_lower(user))
        if account is None:
            return []
        rows = []
        t = self.server.now()
        for token, size in sorted(account.positions.items()):
            if size <= 0:
                continue
            market, is_yes = self.server.scenario.token_index()[token]
            cost = account.cost.get(token, Decimal(0))
            avg = cost / size
            cur = market.yes_price(t) if is_yes else 1 - market.yes_price(t)
            value = size * cur
            rows.append(
                {
                    "proxyWallet": account.address,
                    "asset": token,
                    "conditionId": market.condition_id,
                    "size": size,
                    "avgPrice": avg,
                    "initialValue": cost,
                    "currentValue": value,
                    "cashPnl": value - cost,
                    "percentPnl": (value - cost) / cost * 100 if cost else Decimal(0),
                    "totalBought": size,
                    "realizedPnl": Decimal(0),
                    "percentRealizedPnl": Decimal(0),
                    "curPrice": cur,
                    "redeemable": market.index in self.server._resolved,
                    "mergeable": False,
                    "title": market.question,
                    "slug": market.slug,
                    "icon": "",
                    "eventId": str(1000 + market.index),
                    "eventSlug": market.slug,
                    "outcome": "Yes" if is_yes else "No",
                    "outcomeIndex": 0 if is_yes else 1,
                    "oppositeOutcome": "No" if is_yes else "Yes",
                    "oppositeAsset": market.no_token if is_yes else market.yes_token,
                    "endDate": iso(self.server.wall(market.end_s))[:10],
                    "negativeRisk": False,
                }
            )
        return rows

    # --- user channel ---------------------------------------------------------------------------

    async def ws_user(self, request: web.Request) -> web.WebSocketResponse:
        """The authenticated user channel."""
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        entry: tuple[web.WebSocketResponse, ApiKey, set[str]] | None = None
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    if msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                        break
                    continue
                if msg.data == "PING":
                    await ws.send_str("PONG")
                    continue
                try:
                    message = json.loads(msg.data)
                except ValueError:
                    continue
                if not isinstance(message, dict):
                    continue
                if entry is None:
                    creds = self._ws_auth(message.get("auth"))
                    if creds is None:
                        await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"invalid auth")
                        break
                    entry = (ws, creds, {str(m).lower() for m in message.get("markets") or []})
                    self._user_clients.append(entry)
                    self.server.connections["user"] += 1
                    continue
                markets = {str(m).lower() for m in message.get("markets") or []}
                if message.get("operation") == "unsubscribe":
                    entry[2].difference_update(markets)
                else:
                    entry[2].update(markets)
        finally:
            if entry is not None:
                self._user_clients.remove(entry)
                self.server.connections["user"] -= 1
        return ws

    def _ws_auth(self, auth: Any) -> ApiKey | None:
        if not isinstance(auth, dict):
            return None
        creds = self.keys.get(str(auth.get("apiKey", "")))
        if creds is None:
            return None
        if auth.get("secret") != creds.secret or auth.get("passphrase") != creds.passphrase:
            return None
        return creds

    async def _send_user(self, address: str, condition_id: str, event: dict[str, Any]) -> None:
        text = dumps(event)
        for ws, creds, markets in list(self._user_clients):
            if _lower(creds.address) != address:
                continue
            if markets and condition_id.lower() not in markets:
                continue
            if not ws.closed:
                with contextlib.suppress(Exception):
                    await ws.send_str(text)

    async def _emit_order(self, order: SimOrder, kind: str) -> None:
        await self._send_order(order, self._order_event(order, kind))

    async def _send_order(self, order: SimOrder, event: dict[str, Any]) -> None:
        await self._send_user(order.address, order.market.condition_id, event)

    def _order_event(self, order: SimOrder, kind: str) -> dict[str, Any]:
        event = _order_json(order)
        event.update(
            {
                "event_type": "order",
                "order_owner": order.owner,
                "associate_trades": list(order.trades) or None,
                "type": kind,
                "created_at": str(order.created_at),
                "timestamp": str(int(time.time())),
            }
        )
        return event

    async def _emit_trade(self, fill: SimFill) -> None:
        event = _trade_json(fill)
        event.update(
            {
                "event_type": "trade",
                "type": "TRADE",
                "trade_owner": fill.order.owner,
                "matchtime": str(fill.match_time),
                "timestamp": str(fill.last_update),
            }
        )
        await self._send_user(fill.order.address, fill.order.market.condition_id, event)


# --- wire shapes ------------------------------------------------------------------------------


def _order_json(order: SimOrder) -> dict[str, Any]:
    return {
        "id": order.id,
        "status": order.status,
        "owner": order.owner,
        "maker_address": order.maker,
        "market": order.market.condition_id,
        "asset_id": order.token,
        "side": order.side,
        "original_size": _num(order.size),
        "size_matched": _num(order.matched),
        "price": _num(order.price),
        "outcome": order.outcome,
        "expiration": str(order.expiration),
        "order_type": order.order_type,
        "associate_trades": list(order.trades),
        "created_at": order.created_at,
    }


def _trade_json(fill: SimFill) -> dict[str, Any]:
    order = fill.order
    ours = {
        "asset_id": order.token,
        "matched_amount": _num(fill.size),
        "order_id": order.id,
        "outcome": order.outcome,
        "owner": order.owner,
        "price": _num(fill.price),
        "fee_rate_bps": "0",
        "maker_address": order.maker,
        "side": order.side,
    }
    theirs = {
        "asset_id": order.token,
        "matched_amount": _num(fill.size),
        "order_id": fill.counter_order,
        "outcome": order.outcome,
        "owner": "00000000-0000-0000-0000-000000000000",
        "price": _num(fill.price),
        "fee_rate_bps": "0",
        "maker_address": fill.counter_address,
        "side": "SELL" if order.side == "BUY" else "BUY",
    }
    taker = fill.role == "TAKER"
    return {
        "id": fill.id,
        "taker_order_id": order.id if taker else fill.counter_order,
        "market": order.market.condition_id,
        "asset_id": order.token,
        "side": order.side,
        "size": _num(fill.size),
        "fee_rate_bps": "0",
        "price": _num(fill.price),
        "status": fill.status,
        "match_time": str(fill.match_time),
        "last_update": str(fill.last_update),
        "outcome": order.outcome,
        "bucket_index": 0,
        "owner": order.owner,
        "maker_address": order.maker,
        "transaction_hash": fill.tx_hash,
        "maker_orders": [theirs] if taker else [ours],
        "trader_side": fill.role,
    }


def _success(order_id: str, status: str, fills: list[SimFill]) -> dict[str, Any]:
    making = taking = ""
    if fills:
        shares = sum((f.size for f in fills), Decimal(0))
        usd = sum((_usd_up(f.size * f.price) for f in fills), Decimal(0))
        buy = fills[0].order.side == "BUY"
        making, taking = (_num(usd), _num(shares)) if buy else (_num(shares), _num(usd))
    return {
        "success": True,
        "errorMsg": "",
        "orderID": order_id,
        "status": status,
        "makingAmount": making,
        "takingAmount": taking,
        "transactionsHashes": [f.tx_hash for f in fills],
        "tradeIDs": [f.id for f in fills],
    }


def _failure(message: str) -> dict[str, Any]:
    return {
        "success": False,
        "errorMsg": message,
        "orderID": "",
        "status": "",
        "makingAmount": "",
        "takingAmount": "",
    }


def _page(rows: list[dict[str, Any]]) -> dict[str, Any]:
    limit = max(500, len(rows))
    return {"data": rows, "next_cursor": END_CURSOR, "limit": limit, "count": len(rows)}


def _creds_json(creds: ApiKey) -> dict[str, str]:
    return {"apiKey": creds.key, "secret": creds.secret, "passphrase": creds.passphrase}


def _usd_up(amount: Decimal) -> Decimal:
    return amount.quantize(MICRO, rounding=ROUND_CEILING)


def _schedule(market: SimMarket) -> FeeSchedule | None:
    if not market.fee:
        return None
    try:
        return FeeSchedule(
            rate=Decimal(str(market.fee["rate"])),
            exponent=int(str(market.fee.get("exponent", 1))),
            taker_only=bool(market.fee.get("takerOnly", True)),
            rebate_rate=Decimal(str(market.fee.get("rebateRate", 0))),
            fee_type=market.fee_type,
        )
    except (KeyError, ValueError, InvalidOperation):
        return None


def _taker_base_fee(market: SimMarket) -> int:
    if not market.fee:
        return 0
    return int(Decimal(str(market.fee.get("rate", 0))) * 10_000)


def _same_b64(given: str, expected: str) -> bool:
    import hmac

    normalized = given.replace("+", "-").replace("/", "_")
    return hmac.compare_digest(normalized.encode(), expected.encode())


async def _reply(
    request: web.Request, build: Callable[[web.Request], dict[str, Any]]
) -> web.Response:
    try:
        return json_response(build(request))
    except ApiError as err:
        return json_response({"error": err.message}, status=err.status)
