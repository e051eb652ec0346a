"""The simulator's exchange: CLOB V2 order entry, matching, settlement and the user channel.

This docstring is the endpoint specification; the package splits by the state each part
touches: :mod:`.auth` (keys, funders), :mod:`.matching` (orders, fills, consumed liquidity),
:mod:`.ledger` (balances, positions, settlement), :mod:`.user_channel` (sockets),
:mod:`.routes` (HTTP only), :mod:`.wire` (JSON shapes) and :mod:`.rules` (tick, size, fee).

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
  address starts with ``default_balance`` pUSD); the allowances are the CLOB's *cached* view:
  a token's conditional approval reads 0 until ``GET /balance-allowance/update?asset_type=
  CONDITIONAL&token_id=`` refreshes it (so a first SELL without it is refused ``not enough
  balance / allowance``), and a collateral allowance made stale by the ``stale_allowance`` knob
  reads 0, and refuses BUYs, until an update for COLLATERAL;
  ``POST /order``, ``POST /orders``; ``DELETE /order`` ``{"orderID"}``, ``DELETE /orders``
  ``[ids]``, ``DELETE /cancel-all``, ``DELETE /cancel-market-orders`` → ``{canceled,
  not_canceled}``; ``GET /data/orders`` (open orders), ``GET /data/order/{id}``,
  ``GET /data/trades`` (the key owner's trades) → ``{data, next_cursor: "LTE=", limit, count}``;
  ``POST /v1/heartbeats`` ``{"heartbeat_id"}`` (:mod:`.heartbeats`: once one is accepted, the
  account's open orders are all cancelled when none comes for ``heartbeat_timeout_s``, 10 s).
REST statuses are the prefixed constants (``ORDER_STATUS_LIVE``, ``TRADE_STATUS_CONFIRMED``); the
user channel sends the plain values (``LIVE``, ``CONFIRMED``).

``POST /order`` checks, in order: V1-shaped body → 400 ``order_version_mismatch``; malformed → 400
``Invalid order payload``; ``owner`` ≠ the API key → ``the order owner has to be the owner of the
API KEY``; signer ≠ the key's address → ``the order signer address has to be the address of the API
KEY``; EIP-712 signer recovery under domain ("Polymarket CTF Exchange", "2", 137, V2 exchange) ≠
signer, or maker not allowed for the signature type (EOA: maker = signer; POLY_PROXY /
POLY_GNOSIS_SAFE: maker = the signer's funder, bound on first use or by ``link_wallet``; POLY_1271:
the wrapped inner signature recovers the key's address) → ``invalid signature`` (a wrong domain
version or exchange lands here too); unknown token → 404 ``market not found``; price
(makerAmount/takerAmount) off the 0.01 tick → ``order {id} is invalid. Price (p) breaks minimum
tick size rule: 0.01``; a GTC/GTD or SELL order below 5 shares → ``… Size (s) lower than the
minimum: 5``; a FAK/FOK buy (or a crossing buy) worth under 1 pUSD → ``invalid amount for a
marketable BUY order ($x), min size: $1`` (a FAK/FOK buy has no share minimum); GTD expiration
less than 3 minutes ahead → ``invalid expiration`` (a GTD order ends a minute before its stated
expiry); same order hash again → ``… Duplicated.``; pUSD
(BUY: makerAmount + taker fee) or shares (SELL) beyond what is free → ``not enough balance /
allowance``. Then it matches against the simulator's book (best level first, at the book's prices,
never past the order's limit; one trade per level; the taker pays the market's curved fee in pUSD,
PROTOCOL.md §6): FOK all-or-400 ``order couldn't be fully filled. FOK orders are fully filled or
killed.``, FAK some-or-400 ``no orders found to match with FAK order. …``, GTC/GTD rest the
remainder (and fill later when the book comes to them, as maker, no fee). ``postOnly`` that crosses
→ ``invalid post-only order: order crosses book``. Reply: ``{success, errorMsg, orderID, status:
matched|live|delayed|unmatched, makingAmount, takingAmount, transactionsHashes, tradeIDs}`` with
amounts as decimal strings ("" when nothing matched); ``orderID`` is the EIP-712 order hash, which
a client can compute before it posts (and look up with ``GET /data/order/{id}`` after a
timeout). Consumed liquidity leaves the book (REST and market WS) until the book's next step.

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

Fault knobs (``sim.exchange.<knob>``; also ``POST /sim/exchange/<knob>`` with a JSON object of
keyword arguments, for a simulator in another process):

- ``delay_next_response(seconds)``: the next ``POST /order`` is accepted and matched at once but its
  HTTP reply is held for ``seconds`` — a client timing out must reconcile, not resend.
- ``fail_next_response(status=502, message="Bad Gateway")``: the next ``POST /order`` is accepted
  and matched, but the reply is that HTTP error — an answer that says nothing about the order.
- ``unmatch_next()``: the next order replies ``status: "unmatched"`` and rests on the book unmatched
  (what the docs say happens when a taker delay runs out without a match).
- ``complement_next_maker_fill()``: the next fill of a resting order is taken by a taker in the
  other outcome's token (a mint for two buys, a merge for two sells): the trade's ``asset_id``,
  ``price`` and ``outcome`` are the taker's, so ``/data/trades?asset_id=<our token>`` does not
  list it and ``?market=<condition id>`` does (our side is in ``maker_orders``).
- ``fail_next_match()``: every trade of the next matching order goes MATCHED → RETRYING → FAILED.
- ``delay_next_match(seconds, rest=False)``: the next marketable order replies ``status:
  "delayed"`` and is matched ``seconds`` (wall) later; with ``rest``, the next order is placed on
  the book ``seconds`` later without matching.
- ``stale_allowance(address, token_id="")``: the CLOB's cached pUSD allowance (or the token's
  conditional approval) of the address reads 0 until ``/balance-allowance/update`` refreshes it.
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

from decimal import Decimal
from typing import Any

from aiohttp import web

from polytui.sim.exchange.auth import Auth
from polytui.sim.exchange.heartbeats import Heartbeats
from polytui.sim.exchange.ledger import Ledger
from polytui.sim.exchange.matching import Matcher
from polytui.sim.exchange.records import ApiKey, SimAccount, SimFill, SimOrder
from polytui.sim.exchange.routes import ExchangeRoutes
from polytui.sim.exchange.rules import ApiError
from polytui.sim.exchange.user_channel import UserChannel
from polytui.sim.hub import Hub
from polytui.sim.world import SimWorld

__all__ = ["ApiError", "ApiKey", "Exchange", "SimAccount", "SimFill", "SimOrder"]


class Exchange:
    """The exchange one :class:`~polytui.sim.server.SimServer` serves, over a :class:`SimWorld`.

    A facade: state lives in the parts (``auth``, ``ledger``, ``matcher``, ``channel``,
    ``http``); the names tests and the CLI use are here.
    """

    def __init__(self, world: SimWorld, hub: Hub) -> None:
        self.world = world
        self.auth = Auth(world.scenario.seed)
        self.ledger = Ledger(world)
        self.channel = UserChannel(self.auth, hub)
        self.matcher = Matcher(world, self.auth, self.ledger, self.channel)
        self.heartbeats = Heartbeats(world.scenario.seed)
        self.http = ExchangeRoutes(
            world, self.auth, self.ledger, self.matcher, self.channel, self.knobs(), self.heartbeats
        )
        self.accounts = self.ledger.accounts
        self.orders = self.matcher.orders
        self.fills = self.matcher.fills
        self.funders = self.auth.funders
        self.keys = self.auth.keys

    def knobs(self) -> dict[str, Any]:
        """The fault knobs and seeding calls ``POST /sim/exchange/<knob>`` reaches."""
        return {
            "delay_next_response": self.delay_next_response,
            "fail_next_match": self.fail_next_match,
            "delay_next_match": self.delay_next_match,
            "fail_next_response": self.fail_next_response,
            "unmatch_next": self.unmatch_next,
            "complement_next_maker_fill": self.complement_next_maker_fill,
            "set_balance": self.set_balance,
            "stale_allowance": self.stale_allowance,
            "link_wallet": self.link_wallet,
            "seed_position": self.seed_position,
            "seed_open_order": self.seed_open_order,
        }

    def routes(self) -> list[web.RouteDef]:
        """The trading routes (mounted by the server)."""
        return self.http.routes()

    async def close(self) -> None:
        """Cancel pending settlement tasks and close user sockets."""
        await self.matcher.close()
        await self.channel.close_all()

    async def drop_user_sockets(self) -> int:
        """Close every user-channel socket (clients must reconnect and re-authenticate)."""
        return await self.channel.close_all()

    async def tick(self) -> None:
        """Fill resting orders the book has come to (as maker); expire GTD orders; cancel the
        open orders of accounts whose heartbeats stopped."""
        for address in self.heartbeats.expired():
            await self.matcher.cancel_all_of(address)
        await self.matcher.tick()

    def book(self, token: str, t: float) -> dict[str, Any]:
        """The book clients see at sim time ``t``: the world's, less consumed liquidity."""
        return self.matcher.visible_book(token, t)

    # --- fault knobs and seeding ----------------------------------------------------------------

    def delay_next_response(self, seconds: float) -> None:
        """Accept and match the next ``POST /order`` at once, but hold its reply ``seconds``."""
        self.http.response_delay = float(seconds)

    def fail_next_match(self) -> None:
        """Every trade of the next matching order goes MATCHED → RETRYING → FAILED."""
        self.matcher.fail_next = True

    def delay_next_match(self, seconds: float, rest: bool = False) -> None:
        """The next marketable order replies ``delayed`` and matches ``seconds`` later.

        ``rest``: the next order (marketable or not) replies ``delayed`` and, ``seconds``
        later, is placed on the book without matching (GTC/GTD rest; FAK/FOK die).
        """
        self.matcher.match_delay = float(seconds)
        self.matcher.delay_rests = bool(rest)

    def fail_next_response(self, status: int = 502, message: str = "Bad Gateway") -> None:
        """Accept and match the next ``POST /order``, but answer HTTP ``status`` instead."""
        self.http.response_fault = (int(status), str(message))

    def unmatch_next(self) -> None:
        """The next order replies ``unmatched`` and rests on the book without matching."""
        self.matcher.unmatch_next = True

    def complement_next_maker_fill(self) -> None:
        """The next maker fill of a resting order is taken by a complementary-token taker."""
        self.matcher.complement_next = True

    @property
    def pending_match_delay(self) -> float | None:
        """The ``delay_next_match`` still waiting for a marketable order."""
        return self.matcher.match_delay

    def set_balance(self, address: str, usd: Decimal | str | int) -> None:
        """Set an address's pUSD balance."""
        self.ledger.set_balance(address, usd)

    def stale_allowance(self, address: str, token_id: str = "") -> None:
        """The CLOB's cache shows no pUSD allowance (or no approval of ``token_id``) for the
        address until ``/balance-allowance/update`` refreshes it."""
        self.ledger.stale_allowance(address, token_id)

    def link_wallet(self, signer: str, funder: str) -> None:
        """Bind a proxy / safe / deposit wallet (maker) to its signer EOA."""
        self.auth.link_wallet(signer, funder)

    def seed_position(
        self, address: str, token_id: str, size: Decimal | str, avg_price: Decimal | str
    ) -> None:
        """Give an address a position the client never traded (start-up reconciliation)."""
        self.ledger.seed_position(address, token_id, size, avg_price)

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
        return self.matcher.seed_open_order(address, token_id, side, price, size, order_type)

    # --- accounts, keys, data-api ---------------------------------------------------------------

    def account(self, address: str) -> SimAccount:
        """The account of a maker address (created with the default balance)."""
        return self.ledger.account(address)

    def api_key(self, address: str, nonce: int = 0) -> ApiKey:
        """Deterministic L2 credentials of (seed, address, nonce), without L1."""
        return self.auth.api_key(address, nonce)

    def positions(self, user: str) -> list[dict[str, Any]]:
        """data-api ``/positions`` rows of ``user``."""
        return self.ledger.positions(user)

    def dataapi_trades(self, user: str) -> list[dict[str, Any]]:
        """data-api ``/trades`` rows of ``user``'s settled fills."""
        return self.matcher.dataapi_trades(user)

    # --- settlement pacing and account defaults (settable) --------------------------------------

    @property
    def default_balance(self) -> Decimal:
        """pUSD every new account starts with."""
        return self.ledger.default_balance

    @default_balance.setter
    def default_balance(self, value: Decimal) -> None:
        self.ledger.default_balance = value

    @property
    def mined_after_s(self) -> float:
        """Sim seconds from MATCHED to MINED."""
        return self.ledger.mined_after_s

    @mined_after_s.setter
    def mined_after_s(self, value: float) -> None:
        self.ledger.mined_after_s = value

    @property
    def confirmed_after_s(self) -> float:
        """Sim seconds from MATCHED to CONFIRMED."""
        return self.ledger.confirmed_after_s

    @confirmed_after_s.setter
    def confirmed_after_s(self, value: float) -> None:
        self.ledger.confirmed_after_s = value

    @property
    def heartbeat_timeout_s(self) -> float:
        """Wall seconds without a heartbeat before an account's open orders are cancelled."""
        return self.heartbeats.timeout_s

    @heartbeat_timeout_s.setter
    def heartbeat_timeout_s(self, value: float) -> None:
        self.heartbeats.timeout_s = value

    @property
    def retry_after_s(self) -> float:
        """Sim seconds of each RETRYING / FAILED step."""
        return self.ledger.retry_after_s

    @retry_after_s.setter
    def retry_after_s(self, value: float) -> None:
        self.ledger.retry_after_s = value

    @property
    def strict_funders(self) -> bool:
        """Refuse a maker wallet not bound with ``link_wallet`` (else bind it on first use)."""
        return self.auth.strict_funders

    @strict_funders.setter
    def strict_funders(self, value: bool) -> None:
        self.auth.strict_funders = value
