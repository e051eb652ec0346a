"""The live broker: CLOB V2 orders, signed by the official client, followed to settlement.

Same interface as the paper broker (``execute`` → ``ExecutionReport``, ``cancel_all``), plus a
start-up step (``start``) and a user-channel feed (``feed``) the engine runs like any other.

How an order goes out (PROTOCOL.md §2, §7):

1. Checks first, against the market's own rules: open and accepting, limit price rounded to the
   tick (down for buys, up for sells), shares down to 2 decimals, the market minimum size, a
   marketable buy worth at least 1 pUSD. Amounts are computed here in Decimal and passed to the
   signer as integer micro-units, following the official client's rounding (limit orders:
   shares × price; FAK/FOK buys: pUSD to 2 decimals), so no binary float touches an amount.
2. The order is built and EIP-712 signed by py-clob-client-v2's ``ExchangeOrderBuilderV2``
   (domain "Polymarket CTF Exchange" version "2", the neg-risk exchange for neg-risk markets) in
   a worker thread; its hash is the CLOB's order id, so the id is known *before* the POST. A
   ``clob`` journal record (hash, salt, amounts) is committed before the order leaves.
3. The POST goes out on an async httpx client with L2 headers from the official
   ``create_level_2_headers`` (HMAC over the exact body sent). Not through the client's own
   ``post_order``: that one is blocking, may retry a failed POST by itself, and after a match
   polls trades for up to 30 s. Here each call has its own timeout, can be cancelled, and a
   timeout is told apart from a refused connection.
4. **A timed-out POST is never sent again.** The broker asks the CLOB what it has: the order by
   hash, open orders in the token (by hash, or by side/size/price/time when the hash is
   unknown), and recent trades naming the order. Found → followed as if the POST had answered.
   Not found after a few looks → reported as not placed, and still watched: a late fill is
   applied when it shows up.
5. The user channel (``/ws/user``, L2 credentials) reports each trade MATCHED → MINED →
   CONFIRMED, or RETRYING → FAILED. Every change is journaled as an order status. **A fill
   reaches the portfolio only at CONFIRMED** (matched is not settled; a MINED trade can still
   be reorged into RETRYING); FAILED leaves the position unchanged. While the feed is down the
   broker polls ``/data/trades`` instead.

Start-up (``start``): server clock skew (``/time``), pUSD balance and allowances
(``/balance-allowance``), then open orders (``/data/orders``) and positions (data-api
``/positions``) compared with the journal; differences are reported, never silently fixed.
Orders are refused until these checks pass.

Secrets come from environment variables named in ``[live]``, are registered with the log
redaction, and never appear in a message, record or exception raised here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any, TextIO

import httpx

from polytui import redaction
from polytui.clock import Clock
from polytui.execution.broker import ExecutionReport
from polytui.execution.fees import taker_fee
from polytui.feeds.connection import WsFeed
from polytui.model import (
    ZERO,
    BadValue,
    FeedState,
    FeedStatus,
    Fill,
    Market,
    Order,
    OrderStatus,
    OrderType,
    Side,
    parse_decimal,
)
from polytui.settings import Settings

log = logging.getLogger(__name__)

SIGNATURE_TYPES = {"EOA": 0, "POLY_PROXY": 1, "POLY_GNOSIS_SAFE": 2}
# py-clob-client-v2 ROUNDING_CONFIG: tick → decimals of (price, size, amount).
ROUNDING = {
    Decimal("0.1"): (1, 2, 3),
    Decimal("0.01"): (2, 2, 4),
    Decimal("0.005"): (3, 2, 5),
    Decimal("0.0025"): (4, 2, 6),
    Decimal("0.001"): (3, 2, 5),
    Decimal("0.0001"): (4, 2, 6),
}
SHARE_STEP = Decimal("0.01")
MIN_MARKETABLE_BUY_USD = Decimal(1)
MICRO = 1_000_000
BYTES32_ZERO = "0x" + "0" * 64
# The CLOB refuses a GTD expiry less than a minute away.
GTD_SECURITY_S = 60

# CLOB REST paths (py-clob-client-v2 endpoints.py); the HMAC signs the path without query.
TIME = "/time"
BALANCE_ALLOWANCE = "/balance-allowance"
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

TRADE_STATUSES = {
    "MATCHED": OrderStatus.MATCHED,
    "MINED": OrderStatus.MINED,
    "CONFIRMED": OrderStatus.CONFIRMED,
    "RETRYING": OrderStatus.RETRYING,
    "FAILED": OrderStatus.FAILED,
}
TERMINAL_TRADE = frozenset({"CONFIRMED", "FAILED"})
CLOSED_ORDER = frozenset({"CANCELED", "CANCELLED", "MATCHED", "UNMATCHED", "EXPIRED"})


class LiveError(RuntimeError):
    """Live trading cannot go ahead; the message says why and holds no secret."""


def short(hex_id: str) -> str:
    """``0x1234abcd…``: readable, and short enough that log redaction leaves it alone."""
    return hex_id[:10] + "…" if len(hex_id) > 12 else hex_id


# --- credentials and the confirmation gate ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LiveCredentials:
    """The private key and L2 API credentials, read from the environment only."""

    private_key: str = field(repr=False)
    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)
    api_passphrase: str = field(repr=False)

    @classmethod
    def from_env(
        cls, settings: Settings, env: Mapping[str, str] | None = None, *, need_api: bool = True
    ) -> LiveCredentials:
        """Read and register for redaction; a missing variable is named, never its value."""
        env = os.environ if env is None else env
        lv = settings.live
        names = {
            "private_key": lv.private_key_env,
            "api_key": lv.api_key_env,
            "api_secret": lv.api_secret_env,
            "api_passphrase": lv.api_passphrase_env,
        }
        values = {k: env.get(name, "").strip() for k, name in names.items()}
        redaction.register_secrets(v for v in values.values() if v)
        required = ["private_key", "api_key", "api_secret", "api_passphrase"]
        if not need_api:
            required = ["private_key"]
        missing = [names[k] for k in required if not values[k]]
        if missing:
            hint = "" if not need_api else " (`polytui keys derive` makes the API credentials)"
            raise LiveError(f"live trading needs {', '.join(missing)} in the environment{hint}")
        key = values["private_key"]
        if not key.startswith("0x"):
            key = "0x" + key
        if len(key) != 66:
            raise LiveError(f"{lv.private_key_env} is not a 32-byte hex private key")
        values["private_key"] = key
        return cls(**values)


CONFIRM_WORD = "LIVE"


def confirm_live(
    loaded: Any,
    live: bool,
    yes_live: bool = False,
    *,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
) -> bool:
    """The three gates to live trading; True only when all pass.

    ``mode = "live"`` in the config, ``--live`` on the command line, and either ``--yes-live``
    (daemon) or the word LIVE typed at a terminal prompt. No terminal (stdin closed, a pipe) →
    refused. Reasons go to ``out`` (stderr by default).
    """
    stdin = sys.stdin if stdin is None else stdin
    out = sys.stderr if out is None else out
    settings = getattr(loaded, "settings", loaded)
    if getattr(settings, "mode", "paper") != "live":
        print('polytui: live trading needs mode = "live" in the config file', file=out)
        return False
    if not live:
        print("polytui: live trading needs --live on the command line", file=out)
        return False
    if yes_live:
        print("polytui: LIVE trading confirmed by --yes-live", file=out)
        return True
    try:
        interactive = stdin is not None and not stdin.closed and stdin.isatty()
    except (ValueError, OSError):
        interactive = False
    if not interactive:
        print(
            "polytui: live trading needs the word LIVE typed at a terminal "
            "(or --yes-live for the daemon); no terminal here, refusing",
            file=out,
        )
        return False
    print(
        "polytui: this will trade REAL money on Polymarket. Type LIVE to continue: ",
        end="",
        file=out,
        flush=True,
    )
    try:
        answer = stdin.readline()
    except (OSError, ValueError, KeyboardInterrupt):
        answer = ""
    if answer.strip() != CONFIRM_WORD:
        print("polytui: not confirmed; nothing was started", file=out)
        return False
    return True


# --- amounts ------------------------------------------------------------------------------------


def _floor(value: Decimal, places: int) -> Decimal:
    step = Decimal(1).scaleb(-places)
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step


def round_limit(price: Decimal, tick: Decimal, side: Side) -> Decimal:
    """The limit on the tick grid, never more aggressive than asked."""
    rounding = ROUND_FLOOR if side is Side.BUY else ROUND_CEILING
    return (price / tick).to_integral_value(rounding=rounding) * tick


def order_amounts(
    side: Side, shares: Decimal, price: Decimal, tick: Decimal, order_type: OrderType
) -> tuple[int, int]:
    """(makerAmount, takerAmount) in micro-units, as py-clob-client-v2 would sign them.

    Limit orders (GTC/GTD): BUY gives shares × price pUSD for shares; SELL the reverse. With
    price on the tick and shares at 2 decimals the product is exact. Marketable orders
    (FAK/FOK): a BUY gives pUSD rounded down to 2 decimals for pUSD / price shares (rounded
    down to the tick's amount decimals); a SELL gives shares for shares × price.
    """
    if tick not in ROUNDING:
        raise ValueError(f"unsupported tick size {tick}")
    _, size_dp, amount_dp = ROUNDING[tick]
    size = _floor(shares, size_dp)
    marketable = order_type in (OrderType.FAK, OrderType.FOK)
    if side is Side.BUY:
        if marketable:
            spend = _floor(size * price, size_dp)
            get = _floor(spend / price, amount_dp)
        else:
            spend, get = size * price, size
        return _micro(spend), _micro(get)
    proceeds = _floor(size * price, amount_dp)
    return _micro(size), _micro(proceeds)


def _micro(amount: Decimal) -> int:
    return int((amount * MICRO).to_integral_value(rounding=ROUND_FLOOR))


# --- the broker ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Trade:
    status: str
    shares: Decimal
    price: Decimal
    maker: bool
    tx: str = ""
    applied: bool = False


@dataclass(slots=True)
class _Tracked:
    """One order we sent, from signing to its last trade."""

    order: Order
    clob_id: str
    market: Market | None
    signed_ms: int
    maker_amount: int
    taker_amount: int
    order_type: OrderType
    sized_price: Decimal = ZERO
    whale_price: Decimal = ZERO
    source: str = ""
    expected_trades: set[str] = field(default_factory=set)
    trades: dict[str, _Trade] = field(default_factory=dict)
    resting: bool = False
    closed: bool = False
    size_matched: Decimal = ZERO
    waiting: bool = False
    fills: list[Fill] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    history: list[Order] = field(default_factory=list)
    last_status: OrderStatus = OrderStatus.NEW


@dataclass(slots=True)
class _Signed:
    clob_id: str
    body: dict[str, Any]
    salt: str
    signed_ms: int
    maker_amount: int
    taker_amount: int


@dataclass(slots=True)
class StartReport:
    """What ``start`` found: checks, balance and the differences with the journal."""

    notices: list[tuple[str, str]] = field(default_factory=list)
    ok: bool = False
    address: str = ""
    funder: str = ""
    skew_s: float | None = None
    balance_usd: Decimal | None = None
    allowances: dict[str, Decimal] = field(default_factory=dict)
    differences: list[str] = field(default_factory=list)
    open_orders: int = 0

    def record(self) -> dict[str, Any]:
        """JSON-able form for the journal (no floats)."""
        return {
            "ok": self.ok,
            "address": self.address,
            "funder": self.funder,
            "skew_ms": None if self.skew_s is None else int(self.skew_s * 1000),
            "balance_usd": None if self.balance_usd is None else str(self.balance_usd),
            "allowances": {k: str(v) for k, v in self.allowances.items()},
            "open_orders": self.open_orders,
            "differences": list(self.differences),
        }


class UserChannel(WsFeed):
    """The user channel: quiet until we trade, so silence is never shown as a fault."""

    def status(self) -> FeedStatus:
        """Counters and flags; a connected, quiet channel is LIVE."""
        status = super().status()
        if self.connected and status.state is FeedState.DEGRADED:
            status = replace(status, state=FeedState.LIVE)
        return status


OrderHook = Callable[[Order], None]
FillHook = Callable[[Fill], None]
RecordHook = Callable[[str, str, dict[str, Any]], None]


class LiveBroker:
    """Executes orders on the CLOB V2 (see the module docstring for the whole lifecycle)."""

    name = "live"

    def __init__(
        self,
        settings: Settings,
        credentials: LiveCredentials,
        clock: Clock,
        *,
        http: httpx.AsyncClient | None = None,
        reconcile_looks: int = 3,
        reconcile_gap_s: float = 0.5,
        poll_s: float = 1.0,
    ) -> None:
        self.settings = settings
        self.live = settings.live
        self.clock = clock
        self._creds = credentials
        self.rest = settings.feeds.clob_rest_url.rstrip("/")
        self.data_api = settings.feeds.data_api_url.rstrip("/")
        self.entry_order_type = OrderType(self.live.order_type)
        self.exit_order_type = OrderType(self.live.exit_order_type)
        self.signature_type = SIGNATURE_TYPES[self.live.signature_type]
        self.reconcile_looks = reconcile_looks
        self.reconcile_gap_s = reconcile_gap_s
        self.poll_s = poll_s
        self._http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(settings.feeds.http_timeout_s),
            headers={"User-Agent": "polytui", "Accept": "application/json"},
        )
        self._own_http = http is None
        self._signer: Any = None
        self._address = ""
        self._skew_s = 0.0
        self._ready: asyncio.Event | None = None
        self._blocked: str | None = "live start-up checks have not run yet"
        self._orders: dict[str, _Tracked] = {}
        self._applied: set[str] = set()
        self.on_order: OrderHook | None = None
        self.on_fill: FillHook | None = None
        self.on_record: RecordHook | None = None
        self.post_latencies_ms: list[float] = []
        # perf_counter() at: execute() entered, POST sent (signed), POST answered.
        self.timings: list[tuple[float, float, float]] = []
        self.feed = UserChannel(
            "user",
            settings.feeds.clob_user_ws_url,
            on_frame=self._on_frame,
            subscribe_messages=self._subscribe_messages,
            ping_interval_s=settings.feeds.clob_ping_s,
            # The user channel is quiet until we trade; silence is never a fault here.
            silence_s=max(settings.feeds.clob_silence_s, 60.0),
            backoff_initial_s=settings.feeds.backoff_initial_s,
            backoff_cap_s=settings.feeds.backoff_cap_s,
            expect_data=lambda: False,
        )

    # --- wiring -------------------------------------------------------------------------------

    def bind(
        self,
        *,
        on_order: OrderHook | None = None,
        on_fill: FillHook | None = None,
        on_record: RecordHook | None = None,
    ) -> None:
        """Engine callbacks: journal a status change, apply a late fill, journal a record."""
        self.on_order = on_order
        self.on_fill = on_fill
        self.on_record = on_record

    @property
    def funder(self) -> str:
        """The address holding the funds: the proxy/safe, or the EOA itself."""
        return self.live.funder or self._address

    def _ready_event(self) -> asyncio.Event:
        if self._ready is None:
            self._ready = asyncio.Event()
        return self._ready

    # --- signing (official client, in a worker thread) -----------------------------------------

    def _load_signer(self) -> str:
        if self._signer is None:
            from py_clob_client_v2.signer import Signer

            self._signer = Signer(self._creds.private_key, self.live.chain_id)
            self._address = str(self._signer.address())
        return self._address

    def _sign(
        self, side: Side, token_id: str, maker: int, taker: int, neg_risk: bool, expiration: int
    ) -> _Signed:
        from py_clob_client_v2.config import get_contract_config
        from py_clob_client_v2.order_utils.exchange_order_builder_v2 import (
            ExchangeOrderBuilderV2,
        )
        from py_clob_client_v2.order_utils.model.order_data_v2 import (
            OrderDataV2,
            order_to_json_v2,
        )
        from py_clob_client_v2.order_utils.model.side import Side as ClobSide
        from py_clob_client_v2.order_utils.model.signature_type_v2 import SignatureTypeV2

        self._load_signer()
        contracts = get_contract_config(self.live.chain_id)
        exchange = contracts.neg_risk_exchange_v2 if neg_risk else contracts.exchange_v2
        builder = ExchangeOrderBuilderV2(exchange, self.live.chain_id, self._signer)
        signed_ms = int(time.time() * 1000 + self._skew_s * 1000)
        data = OrderDataV2(
            maker=self.funder,
            tokenId=token_id,
            makerAmount=str(maker),
            takerAmount=str(taker),
            side=ClobSide.BUY if side is Side.BUY else ClobSide.SELL,
            signer=self._address,
            signatureType=SignatureTypeV2(self.signature_type),
            timestamp=str(signed_ms),
            metadata=BYTES32_ZERO,
            builder=BYTES32_ZERO,
            expiration=str(expiration),
        )
        signed = builder.build_signed_order(data)
        clob_id = builder.build_order_hash(builder.build_order_typed_data(signed))
        body = order_to_json_v2(signed, self._creds.api_key, "GTC")
        return _Signed(clob_id, body, str(signed.salt), signed_ms, maker, taker)

    # --- HTTP -----------------------------------------------------------------------------------

    def _l2_headers(self, method: str, path: str, body: str | None = None) -> dict[str, str]:
        from py_clob_client_v2.clob_types import ApiCreds, RequestArgs
        from py_clob_client_v2.headers.headers import create_level_2_headers

        self._load_signer()  # normally done by start(); the kill switch may come first
        creds = ApiCreds(self._creds.api_key, self._creds.api_secret, self._creds.api_passphrase)
        args = RequestArgs(method=method, request_path=path, body=body, serialized_body=body)
        headers = create_level_2_headers(
            self._signer, creds, args, timestamp=int(time.time() + self._skew_s)
        )
        headers["Content-Type"] = "application/json"
        return dict(headers)

    async def _l2(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        text = None if body is None else json.dumps(body, separators=(",", ":"))
        headers = self._l2_headers(method, path, text)
        kwargs: dict[str, Any] = {"params": params, "headers": headers}
        if text is not None:
            kwargs["content"] = text.encode()
        if timeout is not None:
            kwargs["timeout"] = timeout
        return await self._http.request(method, self.rest + path, **kwargs)

    async def _l2_json(self, method: str, path: str, **kw: Any) -> Any:
        response = await self._l2(method, path, **kw)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise LiveError(f"{method} {path}: HTTP {response.status_code}: {_error_of(response)}")
        return response.json()

    async def _paged(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        cursor = "MA=="
        for _ in range(50):
            data = await self._l2_json("GET", path, params={**params, "next_cursor": cursor})
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

    # --- start-up -------------------------------------------------------------------------------

    async def start(self, positions: Mapping[str, Decimal], journal: Any = None) -> StartReport:
        """Clock skew, balance and allowance, then open orders and positions vs the journal."""
        report = StartReport()
        ready = self._ready_event()
        try:
            await self._start(report, positions, journal)
        except Exception as exc:  # any failure here means: do not trade
            log.debug("live start-up failed", exc_info=True)
            report.ok = False
            report.notices.append(("error", f"live start-up failed: {_plain_error(exc)}"))
        self._blocked = None if report.ok else "live start-up checks failed (see notices)"
        if not report.ok and not any(level == "error" for level, _ in report.notices):
            report.notices.append(("error", "live orders refused until the checks pass"))
        ready.set()
        self._record("reconcile", "start", report.record())
        return report

    async def _start(
        self, report: StartReport, positions: Mapping[str, Decimal], journal: Any
    ) -> None:
        lv = self.live
        report.address = await asyncio.to_thread(self._load_signer)
        report.funder = self.funder
        if lv.signature_type != "EOA" and not lv.funder:
            raise LiveError(f"signature_type {lv.signature_type} needs [live] funder")
        # Clock skew: the server's second against the middle of the round trip.
        sent = time.time()
        response = await self._http.get(self.rest + TIME)
        back = time.time()
        server = _int_of(response.text)
        if response.status_code != 200 or server is None:
            raise LiveError(f"GET /time answered HTTP {response.status_code}")
        report.skew_s = server - (sent + back) / 2
        # /time has whole seconds: correct our timestamps only for a skew it can see.
        self._skew_s = report.skew_s if abs(report.skew_s) >= 1 else 0.0
        skew_ok = abs(report.skew_s) <= lv.max_clock_skew_s
        report.notices.append(
            (
                "info" if skew_ok else "error",
                f"live: clock skew {report.skew_s:+.1f} s against the CLOB"
                + ("" if skew_ok else f" (limit {lv.max_clock_skew_s:g} s; fix the clock)"),
            )
        )
        # Collateral: pUSD balance and the exchanges' allowances, in micro-units.
        data = await self._l2_json(
            "GET",
            BALANCE_ALLOWANCE,
            params={"asset_type": "COLLATERAL", "signature_type": self.signature_type},
        )
        if not isinstance(data, dict):
            raise LiveError("GET /balance-allowance returned nothing")
        report.balance_usd = _micro_usd(data.get("balance"))
        raw_allow = data.get("allowances") or {}
        if not isinstance(raw_allow, dict) and "allowance" in data:
            raw_allow = {"exchange": data.get("allowance")}
        report.allowances = {
            str(k): v for k, r in dict(raw_allow).items() if (v := _micro_usd(r)) is not None
        }
        least = min(report.allowances.values(), default=ZERO)
        funded = report.balance_usd is not None and report.balance_usd > 0
        allowed = bool(report.allowances) and least > 0
        report.notices.append(
            (
                "info" if funded and allowed else "error",
                f"live: pUSD balance {report.balance_usd} for {short(self.funder)}, "
                f"allowance {_allowance_text(least) if report.allowances else 'none'}"
                + ("" if allowed else " — approve pUSD for the exchanges before trading")
                + ("" if funded else " — no collateral"),
            )
        )
        await self._reconcile_start(report, positions, journal)
        report.ok = skew_ok and funded and allowed

    async def _reconcile_start(
        self, report: StartReport, positions: Mapping[str, Decimal], journal: Any
    ) -> None:
        journal_open, journal_known = _journal_orders(journal)
        if journal is not None:
            for event in journal.events(kinds=["fill"]):
                if str(event.payload.get("broker")) == self.name:
                    self._applied.add(str(event.ref).removeprefix("live-"))
        clob_open = await self._paged(OPEN_ORDERS, {})
        report.open_orders = len(clob_open)
        clob_ids = {str(o.get("id", "")).lower() for o in clob_open}
        for row in clob_open:
            oid = str(row.get("id", "")).lower()
            if oid not in journal_known:
                report.differences.append(
                    f"open order {short(oid)} on the CLOB ({row.get('side')} "
                    f"{row.get('original_size')} @ {row.get('price')}) is not in the journal"
                )
        for oid in sorted(journal_open - clob_ids):
            report.differences.append(
                f"order {short(oid)} is open in the journal but not on the CLOB "
                "(filled or cancelled while polytui was away)"
            )
        for trade_id, status in list(_journal_unsettled(journal).items())[:20]:
            rows = await self._paged(TRADES, {"id": trade_id})
            now = next(
                (str(r.get("status", "")).upper() for r in rows if r.get("id") == trade_id), ""
            )
            if now != status:
                missing = now == "CONFIRMED" and trade_id not in self._applied
                report.differences.append(
                    f"trade {trade_id[:8]} was {status} when polytui stopped; the exchange says "
                    f"{now or 'nothing'}" + ("; its fill is not in the journal" if missing else "")
                )
        held: dict[str, Decimal] = {}
        rows = await self._positions()
        for row in rows:
            try:
                held[str(row.get("asset", ""))] = parse_decimal(row.get("size"), name="size")
            except BadValue:
                continue
        for token in sorted(set(held) | set(positions)):
            exchange, ours = held.get(token, ZERO), positions.get(token, ZERO)
            if abs(exchange - ours) >= SHARE_STEP:
                report.differences.append(
                    f"position in token {token[:12]}…: exchange {_num(exchange)}, "
                    f"journal {_num(ours)}"
                )
        for text in report.differences:
            report.notices.append(("warning", f"live reconcile: {text}"))
        report.notices.append(
            (
                "info",
                f"live reconcile: {len(clob_open)} open order(s), {len(held)} position(s) on "
                f"the exchange; {len(report.differences)} difference(s) with the journal",
            )
        )

    async def _positions(self) -> list[dict[str, Any]]:
        response = await self._http.get(
            self.data_api + "/positions",
            params={"user": self.funder, "sizeThreshold": "0", "limit": "500"},
        )
        if response.status_code != 200:
            raise LiveError(f"data-api /positions answered HTTP {response.status_code}")
        data = response.json()
        return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []

    # --- execution ------------------------------------------------------------------------------

    async def execute(
        self,
        order: Order,
        market: Market | None,
        *,
        sized_price: Decimal,
        whale_price: Decimal,
        source: str = "",
    ) -> ExecutionReport:
        """Check, sign, POST once, then follow the trades to CONFIRMED or FAILED."""
        entered = time.perf_counter()
        exit_order = not order.intent_id
        order_type = self.exit_order_type if exit_order else self.entry_order_type
        order = replace(order, broker=self.name, order_type=order_type)
        history: list[Order] = []

        def refuse(reason: str, status: OrderStatus = OrderStatus.REJECTED) -> ExecutionReport:
            self._emit(replace(order, status=status, reason=reason), history)
            return ExecutionReport(history, [], reason)

        ready = self._ready_event()
        if not ready.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ready.wait(), timeout=self.settings.feeds.http_timeout_s)
        if self._blocked:
            return refuse(self._blocked)
        if market is None:
            return refuse("no market metadata for this token")
        if market.closed or market.resolved:
            return refuse("market is closed")
        if not market.accepting_orders:
            return refuse("market is not accepting orders")
        tick = market.tick_size.normalize()
        tick = next((t for t in ROUNDING if t == tick), tick)
        if tick not in ROUNDING:
            return refuse(f"unsupported tick size {market.tick_size}")
        limit = round_limit(order.limit_price, tick, order.side)
        if not (tick <= limit <= 1 - tick):
            return refuse(f"limit {limit} is outside [{tick}, {1 - tick}]")
        shares = _floor(order.shares, 2)
        if shares < market.min_order_size:
            return refuse(f"size {shares} is below the market minimum {market.min_order_size}")
        marketable = order_type in (OrderType.FAK, OrderType.FOK)
        if marketable and order.side is Side.BUY and shares * limit < MIN_MARKETABLE_BUY_USD:
            return refuse(f"a marketable buy must be worth at least {MIN_MARKETABLE_BUY_USD} pUSD")
        if exit_order and any(
            t.resting and not t.closed and t.order.token_id == order.token_id
            for t in self._orders.values()
        ):
            return refuse("an exit order for this token is already resting")
        maker, taker = order_amounts(order.side, shares, limit, tick, order_type)
        # The shares the signed order asks for (a marketable buy: pUSD / limit, rounded down).
        asked = Decimal(taker if order.side is Side.BUY else maker) / MICRO
        if asked < market.min_order_size:
            return refuse(f"size {asked} is below the market minimum {market.min_order_size}")
        expiration = 0
        if order_type is OrderType.GTD:
            expiration = int(time.time() + self._skew_s) + GTD_SECURITY_S + self.live.exit_gtd_s
        try:
            signed = await asyncio.to_thread(
                self._sign, order.side, order.token_id, maker, taker, market.neg_risk, expiration
            )
        except Exception as exc:  # the signer's message never holds the key
            return refuse(f"signing failed: {type(exc).__name__}")
        signed.body["orderType"] = order_type.value
        order = replace(order, shares=asked, limit_price=limit)
        tracked = _Tracked(
            order=order,
            clob_id=signed.clob_id.lower(),
            market=market,
            signed_ms=signed.signed_ms,
            maker_amount=maker,
            taker_amount=taker,
            order_type=order_type,
            sized_price=sized_price,
            whale_price=whale_price,
            source=source,
            waiting=True,
            history=history,
        )
        self._forget_finished()
        self._orders[tracked.clob_id] = tracked
        self._record(
            "clob",
            order.id,
            {
                "event": "signed",
                "order_id": order.id,
                "clob_id": tracked.clob_id,
                "salt": signed.salt,
                "token_id": order.token_id,
                "side": order.side.value,
                "shares": str(shares),
                "limit_price": str(limit),
                "maker_amount": maker,
                "taker_amount": taker,
                "order_type": order_type.value,
                "signed_ms": signed.signed_ms,
            },
        )
        try:
            return await self._post_and_follow(tracked, signed, entered)
        finally:
            tracked.waiting = False

    async def _post_and_follow(
        self, tracked: _Tracked, signed: _Signed, entered: float
    ) -> ExecutionReport:
        order, history = tracked.order, tracked.history
        text = json.dumps(signed.body, separators=(",", ":"))
        started = time.perf_counter()
        answer: dict[str, Any] | None
        try:
            response = await self._http.post(
                self.rest + POST_ORDER,
                content=text.encode(),
                headers=self._l2_headers("POST", POST_ORDER, text),
                timeout=self.live.post_timeout_s,
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # No connection was made, so no byte of the order left: safe to say "not sent".
            reason = f"could not reach the CLOB ({type(exc).__name__}); nothing was sent"
            self._emit(replace(order, status=OrderStatus.REJECTED, reason=reason), history)
            tracked.closed = True
            return ExecutionReport(history, [], reason)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            # Sent, or maybe sent: the answer is lost. Ask the CLOB before anything else.
            self._emit(
                replace(
                    order,
                    status=OrderStatus.UNKNOWN,
                    reason=f"POST {type(exc).__name__}; reconciling {short(tracked.clob_id)}",
                ),
                history,
            )
            answer = await self._find_order(tracked)
            self._record(
                "clob",
                order.id,
                {
                    "event": "reconciled",
                    "clob_id": tracked.clob_id,
                    "found": answer is not None,
                    "status": "" if answer is None else str(answer.get("status", "")),
                },
            )
            if answer is None:
                reason = (
                    f"POST timed out and the CLOB has no record of {short(tracked.clob_id)} "
                    "after reconciliation; not resent"
                )
                self._emit(replace(order, status=OrderStatus.REJECTED, reason=reason), history)
                tracked.waiting = False
                return ExecutionReport(history, [], reason)
        else:
            answered = time.perf_counter()
            self.post_latencies_ms.append((answered - started) * 1000)
            self.timings.append((entered, started, answered))
            answer = _json_or_none(response)
            if response.status_code != 200 or not isinstance(answer, dict):
                reason = (
                    f"CLOB refused the order: HTTP {response.status_code}: {_error_of(response)}"
                )
                self._emit(replace(order, status=OrderStatus.REJECTED, reason=reason), history)
                tracked.closed = True
                return ExecutionReport(history, [], reason)
        return await self._follow(tracked, answer)

    async def _follow(self, tracked: _Tracked, answer: dict[str, Any]) -> ExecutionReport:
        order, history = tracked.order, tracked.history
        error = str(answer.get("errorMsg") or answer.get("error_msg") or answer.get("error") or "")
        if answer.get("success") is False or (error and not answer.get("orderID")):
            reason = f"CLOB refused the order: {error or 'no reason given'}"
            self._emit(replace(order, status=OrderStatus.REJECTED, reason=reason), history)
            tracked.closed = True
            return ExecutionReport(history, [], reason)
        status = str(answer.get("status", "")).lower()
        returned = str(answer.get("orderID") or "").lower()
        if returned and returned != tracked.clob_id:
            log.warning(
                "CLOB order id %s differs from the signed hash %s",
                short(returned),
                short(tracked.clob_id),
            )
            self._orders[returned] = tracked
        tracked.expected_trades.update(str(t) for t in answer.get("tradeIDs") or [] if t)
        self._record(
            "clob",
            order.id,
            {
                "event": "posted",
                "clob_id": tracked.clob_id,
                "status": status,
                "trade_ids": sorted(tracked.expected_trades),
            },
        )
        if status == "unmatched":
            tracked.closed = True
            reason = f"{tracked.order_type.value}: nothing matched at {order.limit_price} or better"
            self._emit(replace(order, status=OrderStatus.CANCELLED, reason=reason), history)
            return ExecutionReport(history, [], reason)
        tracked.resting = status == "live"
        self._emit(
            replace(
                order,
                status=OrderStatus.POSTED,
                reason=f"clob {short(tracked.clob_id)}: {status or 'accepted'}",
            ),
            history,
        )
        finished = await self._await_final(tracked)
        return self._final_report(tracked, finished)

    def _final_report(self, tracked: _Tracked, finished: bool) -> ExecutionReport:
        order, history = tracked.order, tracked.history
        fills = list(tracked.fills)
        tracked.fills.clear()
        filled = sum((f.shares for f in fills), ZERO)
        failed = [tid for tid, t in tracked.trades.items() if t.status == "FAILED"]
        if not finished:
            pending = [t.status for t in tracked.trades.values() if t.status not in TERMINAL_TRADE]
            reason = (
                f"not final after {self.live.confirm_timeout_s:g} s "
                f"({', '.join(pending) or 'no trade yet'}); a fill applies when it confirms"
            )
            status = OrderStatus.PARTIAL if fills else OrderStatus.UNKNOWN
        elif fills and filled >= order.shares:
            reason, status = "", OrderStatus.FILLED
        elif fills:
            reason, status = f"partial: {filled} of {order.shares}", OrderStatus.PARTIAL
        elif failed:
            reason = f"trade {failed[0][:8]} FAILED on chain; position unchanged"
            status = OrderStatus.FAILED
        else:
            reason, status = "no fill", OrderStatus.CANCELLED
        self._emit(replace(order, status=status, reason=reason), history)
        return ExecutionReport(history, fills, reason)

    def _is_final(self, tracked: _Tracked) -> bool:
        trades = tracked.trades
        if any(t.status not in TERMINAL_TRADE for t in trades.values()):
            return False
        if tracked.expected_trades - set(trades):
            return False
        if tracked.resting:
            return tracked.closed or tracked.size_matched >= tracked.order.shares
        return bool(trades) or tracked.closed

    async def _await_final(self, tracked: _Tracked) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.live.confirm_timeout_s
        last_news = loop.time()
        while not self._is_final(tracked):
            left = deadline - loop.time()
            if left <= 0:
                if tracked.resting and not tracked.closed:
                    await self._cancel_one(tracked)
                    continue
                return False
            tracked.changed.clear()
            try:
                await asyncio.wait_for(tracked.changed.wait(), timeout=min(left, self.poll_s))
                last_news = loop.time()
            except TimeoutError:
                pass
            if not self.feed.connected or loop.time() - last_news >= 2 * self.poll_s:
                # The user channel is down or has said nothing lately: ask the REST API.
                with contextlib.suppress(LiveError, httpx.HTTPError, ValueError):
                    await self._poll_trades(tracked)
        return True

    async def _cancel_one(self, tracked: _Tracked) -> None:
        with contextlib.suppress(LiveError, httpx.HTTPError, ValueError):
            await self._l2_json("DELETE", CANCEL_ORDER, body={"orderID": tracked.clob_id})
        tracked.closed = True
        self._emit(
            replace(
                tracked.order,
                status=OrderStatus.CANCELLED,
                reason=f"resting {self.live.confirm_timeout_s:g} s; remainder cancelled",
            ),
            tracked.history,
        )

    async def _poll_trades(self, tracked: _Tracked) -> None:
        after = tracked.signed_ms // 1000 - 5
        for row in await self._paged(
            TRADES, {"asset_id": tracked.order.token_id, "after": str(after)}
        ):
            self._on_trade(row)

    async def _find_order(self, tracked: _Tracked) -> dict[str, Any] | None:
        """After a lost POST answer: does the CLOB know the order? (by hash, then by shape)."""
        order = tracked.order
        for look in range(self.reconcile_looks):
            if look:
                await asyncio.sleep(self.reconcile_gap_s)
            # Each question on its own: one failing must not skip the others.
            try:
                row = await self._l2_json("GET", GET_ORDER + tracked.clob_id)
                if isinstance(row, dict) and str(row.get("id", "")).lower() == tracked.clob_id:
                    return _answer_from_order(row, tracked.clob_id)
            except (LiveError, httpx.HTTPError, ValueError) as exc:
                log.info("reconciling %s by id: %s", short(tracked.clob_id), _plain_error(exc))
            try:
                for row in await self._paged(OPEN_ORDERS, {"asset_id": order.token_id}):
                    if _same_order(row, tracked):
                        return _answer_from_order(row, tracked.clob_id)
            except (LiveError, httpx.HTTPError, ValueError) as exc:
                log.info(
                    "reconciling %s in open orders: %s", short(tracked.clob_id), _plain_error(exc)
                )
            try:
                await self._poll_trades(tracked)
            except (LiveError, httpx.HTTPError, ValueError) as exc:
                log.info("reconciling %s in trades: %s", short(tracked.clob_id), _plain_error(exc))
            if tracked.trades:  # (the user channel may have told us meanwhile, too)
                return {"success": True, "orderID": tracked.clob_id, "status": "matched"}
        return None

    def _forget_finished(self, keep: int = 500) -> None:
        """Drop the oldest orders that are over (closed, every trade final) beyond ``keep``."""
        if len(self._orders) <= keep:
            return
        for clob_id, tracked in list(self._orders.items())[: len(self._orders) - keep]:
            done = all(t.status in TERMINAL_TRADE for t in tracked.trades.values())
            if done and not tracked.waiting and (tracked.closed or not tracked.resting):
                del self._orders[clob_id]

    # --- kill switch ----------------------------------------------------------------------------

    async def cancel_all(self) -> int:
        """``DELETE /cancel-all``: every open order of this account, ours or not."""
        data = await self._l2_json("DELETE", CANCEL_ALL)
        canceled = [str(c).lower() for c in (data or {}).get("canceled") or []]
        for clob_id in canceled:
            tracked = self._orders.get(clob_id)
            if tracked is not None and not tracked.closed:
                tracked.closed = True
                self._emit(
                    replace(tracked.order, status=OrderStatus.CANCELLED, reason="kill switch"),
                    tracked.history,
                )
                tracked.changed.set()
        self._record("clob", "cancel-all", {"event": "cancel_all", "canceled": canceled})
        return len(canceled)

    # --- the user channel -----------------------------------------------------------------------

    def _subscribe_messages(self) -> list[str]:
        auth = {
            "apiKey": self._creds.api_key,
            "secret": self._creds.api_secret,
            "passphrase": self._creds.api_passphrase,
        }
        return [json.dumps({"auth": auth, "markets": [], "type": "user"})]

    def _on_frame(self, frame: str) -> None:
        data = json.loads(frame)
        events = data if isinstance(data, list) else [data]
        for event in events:
            if not isinstance(event, dict):
                continue
            kind = str(event.get("event_type", "")).lower()
            if kind == "trade":
                self._on_trade(event)
            elif kind == "order":
                self._on_order_event(event)

    def _on_order_event(self, event: dict[str, Any]) -> None:
        tracked = self._orders.get(str(event.get("id", "")).lower())
        if tracked is None:
            return
        with contextlib.suppress(BadValue):
            matched = parse_decimal(event.get("size_matched", "0"), name="matched")
            tracked.size_matched = max(tracked.size_matched, matched)
        kind = str(event.get("type", "")).upper()
        status = str(event.get("status", "")).upper()
        # Whether an order rests is the POST's answer; a FAK is briefly LIVE here too.
        if status == "MATCHED":
            tracked.closed = True  # fully matched: nothing left on the book
        elif (kind == "CANCELLATION" or status in CLOSED_ORDER) and not tracked.closed:
            tracked.closed = True
            self._emit(
                replace(tracked.order, status=OrderStatus.CANCELLED, reason="remainder cancelled"),
                tracked.history,
            )
        tracked.changed.set()

    def _on_trade(self, event: dict[str, Any]) -> None:
        trade_id = str(event.get("id", ""))
        status = str(event.get("status", "")).upper()
        if not trade_id or status not in TRADE_STATUSES:
            return
        for clob_id, shares, price, maker in _our_parts(event, self._orders):
            tracked = self._orders[clob_id]
            known = tracked.trades.get(trade_id)
            if known is not None and known.status == status:
                continue
            if known is not None and known.status in TERMINAL_TRADE:
                continue  # CONFIRMED and FAILED are final; a late echo changes nothing
            trade = known or _Trade(status, shares, price, maker)
            trade.status = status
            trade.tx = str(event.get("transaction_hash") or trade.tx)
            tracked.trades[trade_id] = trade
            if maker:
                # Trades and order updates both say how much rested-and-matched: keep the most.
                made = sum((t.shares for t in tracked.trades.values() if t.maker), ZERO)
                tracked.size_matched = max(tracked.size_matched, made)
            self._record(
                "clob",
                tracked.order.id,
                {
                    "event": "trade",
                    "clob_id": clob_id,
                    "trade_id": trade_id,
                    "status": status,
                    "shares": str(shares),
                    "price": str(price),
                    "maker": maker,
                    "tx": trade.tx,
                },
            )
            self._emit(
                replace(
                    tracked.order,
                    status=TRADE_STATUSES[status],
                    reason=f"trade {trade_id[:8]}: {shares} @ {price}"
                    + (f" tx {short(trade.tx)}" if trade.tx else ""),
                ),
                tracked.history,
            )
            if status == "CONFIRMED" and trade_id not in self._applied:
                self._applied.add(trade_id)
                trade.applied = True
                fill = self._fill(tracked, trade_id, trade)
                if tracked.waiting:
                    tracked.fills.append(fill)
                elif self.on_fill is not None:
                    self.on_fill(fill)
            tracked.changed.set()

    def _fill(self, tracked: _Tracked, trade_id: str, trade: _Trade) -> Fill:
        market = tracked.market
        fee = ZERO if trade.maker else taker_fee(trade.shares, trade.price, _schedule(market))
        return Fill(
            id=f"live-{trade_id}",
            order_id=tracked.order.id,
            intent_id=tracked.order.intent_id,
            token_id=tracked.order.token_id,
            condition_id=market.condition_id if market else "",
            side=tracked.order.side,
            shares=trade.shares,
            avg_price=trade.price,
            fee_usd=fee,
            filled_at=self.clock.now(),
            whale_price=tracked.whale_price,
            source=tracked.source,
            broker=self.name,
        )

    # --- plumbing -------------------------------------------------------------------------------

    def _emit(self, order: Order, history: list[Order]) -> None:
        """One status change: journaled at once through the engine, or kept for the report."""
        if self.on_order is not None:
            self.on_order(order)
        else:
            history.append(order)

    def _record(self, kind: str, ref: str, payload: dict[str, Any]) -> None:
        if self.on_record is not None:
            self.on_record(kind, ref, payload)

    async def close(self) -> None:
        """Stop the user channel and close the HTTP client."""
        await self.feed.stop()
        if self._own_http:
            await self._http.aclose()


# --- parsing helpers ----------------------------------------------------------------------------


def _schedule(market: Market | None) -> Any:
    return None if market is None else market.fee_schedule


def _our_parts(
    event: dict[str, Any], orders: Mapping[str, _Tracked]
) -> list[tuple[str, Decimal, Decimal, bool]]:
    """(our clob id, shares, price, maker?) for each side of a trade that is ours."""
    parts: list[tuple[str, Decimal, Decimal, bool]] = []
    taker_id = str(event.get("taker_order_id", "")).lower()
    makers = [m for m in event.get("maker_orders") or [] if isinstance(m, dict)]
    try:
        if taker_id in orders:
            shares = parse_decimal(event.get("size"), name="size")
            price = parse_decimal(event.get("price"), name="price", maximum=Decimal(1))
            token = orders[taker_id].order.token_id
            same = [m for m in makers if str(m.get("asset_id", token)) == token]
            if same and len(same) == len(makers):
                # The taker's average over the maker levels it took.
                amounts = [parse_decimal(m.get("matched_amount"), name="amount") for m in same]
                total = sum(amounts, ZERO)
                if total > 0:
                    cost = sum(
                        (
                            a * parse_decimal(m.get("price"), name="price")
                            for a, m in zip(amounts, same, strict=True)
                        ),
                        ZERO,
                    )
                    price = cost / total
                    if -price.as_tuple().exponent > 6:  # type: ignore[operator]
                        price = price.quantize(Decimal("0.000001"))
            parts.append((taker_id, shares, price, False))
        for m in makers:
            oid = str(m.get("order_id", "")).lower()
            if oid in orders:
                parts.append(
                    (
                        oid,
                        parse_decimal(m.get("matched_amount"), name="amount"),
                        parse_decimal(m.get("price"), name="price", maximum=Decimal(1)),
                        True,
                    )
                )
    except BadValue as exc:
        log.warning("user channel: dropped a trade with a bad number: %s", exc)
        return []
    return parts


def _same_order(row: dict[str, Any], tracked: _Tracked) -> bool:
    """An open order that is ours: by hash, or by token/side/size/price and time."""
    if str(row.get("id", "")).lower() == tracked.clob_id:
        return True
    order = tracked.order
    try:
        same_shape = (
            str(row.get("asset_id", "")) == order.token_id
            and str(row.get("side", "")).upper() == order.side.value
            and parse_decimal(row.get("original_size"), name="size") == order.shares
            and parse_decimal(row.get("price"), name="price") == order.limit_price
        )
        created = _int_of(row.get("created_at"))
    except BadValue:
        return False
    return same_shape and created is not None and created >= tracked.signed_ms // 1000 - 2


def _answer_from_order(row: dict[str, Any], clob_id: str) -> dict[str, Any]:
    status = str(row.get("status", "")).upper()
    matched = str(row.get("size_matched", "0")) not in ("0", "", "0.0")
    mapped = "live" if status == "LIVE" else "matched" if matched else "unmatched"
    if status in ("CANCELED", "CANCELLED") and matched:
        mapped = "matched"
    trade_ids = [str(t) for t in row.get("associate_trades") or [] if t]
    return {"success": True, "orderID": clob_id, "status": mapped, "tradeIDs": trade_ids}


def _journal_orders(journal: Any) -> tuple[set[str], set[str]]:
    """(orders the journal thinks are resting, every order id the journal knows)."""
    known: set[str] = set()
    status: dict[str, str] = {}
    if journal is None:
        return set(), known
    for event in journal.events(kinds=["clob"]):
        payload = event.payload
        clob_id = str(payload.get("clob_id", "")).lower()
        if not clob_id:
            continue
        known.add(clob_id)
        if payload.get("event") == "posted":
            status[clob_id] = str(payload.get("status", ""))
        elif payload.get("event") == "trade" and payload.get("maker") is False:
            status[clob_id] = "matched"
        elif payload.get("event") == "cancel_all":
            for cid in payload.get("canceled") or []:
                status[str(cid).lower()] = "canceled"
    return {cid for cid, s in status.items() if s == "live"}, known


def _journal_unsettled(journal: Any) -> dict[str, str]:
    """Trades the journal last saw short of CONFIRMED / FAILED: trade id → status."""
    last: dict[str, str] = {}
    if journal is None:
        return last
    for event in journal.events(kinds=["clob"]):
        if event.payload.get("event") == "trade":
            last[str(event.payload.get("trade_id"))] = str(event.payload.get("status", ""))
    return {tid: status for tid, status in last.items() if status not in TERMINAL_TRADE}


def _num(value: Decimal) -> str:
    """A share count without trailing zeros or an exponent (10.0 → 10)."""
    return format(value.normalize(), "f")


def _int_of(raw: Any) -> int | None:
    try:
        return int(Decimal(str(raw).strip()))
    except (ArithmeticError, ValueError):
        return None


def _micro_usd(raw: Any) -> Decimal | None:
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
    return (value / MICRO).quantize(Decimal("0.000001"))


def _allowance_text(amount: Decimal) -> str:
    return "unlimited" if amount >= UNLIMITED else str(amount)


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _error_of(response: httpx.Response) -> str:
    data = _json_or_none(response)
    if isinstance(data, dict):
        for key in ("error", "errorMsg", "error_msg", "message"):
            if data.get(key):
                return redaction.redact(str(data[key]))[:200]
    return redaction.redact(response.text)[:200]


def _plain_error(exc: BaseException) -> str:
    return redaction.redact(f"{type(exc).__name__}: {exc}")[:300]
