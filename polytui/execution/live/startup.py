"""Start-up checks and the journal reconciliation: nothing trades until these pass.

Server clock skew (``/time``), pUSD balance and allowances (``/balance-allowance``, after
``/balance-allowance/update`` refreshed the CLOB's cache), then open
orders (``/data/orders``), unsettled trades and positions (data-api ``/positions``) compared
with the journal. Differences are reported, never silently fixed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from polytui.amounts import SHARE_STEP
from polytui.execution.live.allowances import AllowanceSync
from polytui.execution.live.clob_rest import (
    BALANCE_ALLOWANCE,
    OPEN_ORDERS,
    TRADES,
    ClobRest,
    allowance_text,
    int_of,
    micro_usd,
)
from polytui.execution.live.credentials import DEPOSIT_WALLET
from polytui.execution.live.errors import LiveError, short
from polytui.execution.live.tracking import TERMINAL_TRADE, trade_status
from polytui.model import ZERO, BadValue, parse_decimal
from polytui.settings import LiveSettings


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


class StartChecks:
    """Runs the checks once against the CLOB and the data-api; fills a ``StartReport``."""

    def __init__(
        self, live: LiveSettings, clob: ClobRest, data_api: str, applied: set[str], broker: str
    ) -> None:
        self.live = live
        self.clob = clob
        self.signer = clob.signer
        self.data_api = data_api.rstrip("/")
        self.applied = applied
        self.broker = broker
        self.allowances: AllowanceSync | None = None

    async def run(
        self, report: StartReport, positions: Mapping[str, Decimal], journal: Any
    ) -> None:
        """Every check; ``report.ok`` only when all pass. Raises on an unreachable CLOB."""
        lv = self.live
        report.address = await asyncio.to_thread(self.signer.load)
        report.funder = self.signer.funder
        if lv.signature_type != "EOA" and not lv.funder:
            wallet = "deposit wallet" if lv.signature_type == DEPOSIT_WALLET else "proxy / safe"
            raise LiveError(
                f"signature_type {lv.signature_type} needs [live] funder (the {wallet} address)"
            )
        skew_ok = await self._clock(report)
        funded, allowed = await self._collateral(report)
        await self._reconcile(report, positions, journal)
        report.ok = skew_ok and funded and allowed

    async def _clock(self, report: StartReport) -> bool:
        lv = self.live
        # Clock skew: the server's second against the middle of the round trip.
        sent = time.time()
        response = await self.clob.server_time()
        back = time.time()
        server = int_of(response.text)
        if response.status_code != 200 or server is None:
            raise LiveError(f"GET /time answered HTTP {response.status_code}")
        report.skew_s = server - (sent + back) / 2
        # /time has whole seconds: correct our timestamps only for a skew it can see.
        self.signer.skew_s = report.skew_s if abs(report.skew_s) >= 1 else 0.0
        skew_ok = abs(report.skew_s) <= lv.max_clock_skew_s
        report.notices.append(
            (
                "info" if skew_ok else "error",
                f"live: clock skew {report.skew_s:+.1f} s against the CLOB"
                + ("" if skew_ok else f" (limit {lv.max_clock_skew_s:g} s; fix the clock)"),
            )
        )
        return skew_ok

    async def _collateral(self, report: StartReport) -> tuple[bool, bool]:
        # Collateral: pUSD balance and the exchanges' allowances, in micro-units. The CLOB
        # answers from its cache: refreshed from the chain first, so a wallet funded or
        # approved since the CLOB last looked is not read as 0.
        if self.allowances is not None and not await self.allowances.refresh("COLLATERAL"):
            report.notices.append(
                (
                    "warning",
                    "live: the CLOB's balance / allowance cache could not be refreshed "
                    "(GET /balance-allowance/update); the figures below may be stale",
                )
            )
        data = await self.clob.json(
            "GET",
            BALANCE_ALLOWANCE,
            params={"asset_type": "COLLATERAL", "signature_type": self.signer.signature_type},
        )
        if not isinstance(data, dict):
            raise LiveError("GET /balance-allowance returned nothing")
        report.balance_usd = micro_usd(data.get("balance"))
        raw_allow = data.get("allowances") or {}
        if not isinstance(raw_allow, dict) and "allowance" in data:
            raw_allow = {"exchange": data.get("allowance")}
        report.allowances = {
            str(k): v for k, r in dict(raw_allow).items() if (v := micro_usd(r)) is not None
        }
        least = min(report.allowances.values(), default=ZERO)
        funded = report.balance_usd is not None and report.balance_usd > 0
        allowed = bool(report.allowances) and least > 0
        report.notices.append(
            (
                "info" if funded and allowed else "error",
                f"live: pUSD balance {report.balance_usd} for {short(self.signer.funder)}, "
                f"allowance {allowance_text(least) if report.allowances else 'none'}"
                + ("" if allowed else " — approve pUSD for the exchanges before trading")
                + ("" if funded else " — no collateral"),
            )
        )
        return funded, allowed

    async def _reconcile(
        self, report: StartReport, positions: Mapping[str, Decimal], journal: Any
    ) -> None:
        if journal is not None:
            for event in journal.events(kinds=["fill"]):
                if str(event.payload.get("broker")) == self.broker:
                    self.applied.add(str(event.ref).removeprefix("live-"))
        clob_open = await self._open_orders(report, journal)
        await self._unsettled(report, journal)
        held = await self._positions(report, positions)
        for text in report.differences:
            report.notices.append(("warning", f"live reconcile: {text}"))
        report.notices.append(
            (
                "info",
                f"live reconcile: {clob_open} open order(s), {held} position(s) on "
                f"the exchange; {len(report.differences)} difference(s) with the journal",
            )
        )

    async def _open_orders(self, report: StartReport, journal: Any) -> int:
        journal_open, journal_known = journal_orders(journal)
        clob_open = await self.clob.paged(OPEN_ORDERS, {})
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
        return len(clob_open)

    async def _unsettled(self, report: StartReport, journal: Any) -> None:
        for trade_id, status in list(journal_unsettled(journal).items())[:20]:
            rows = await self.clob.paged(TRADES, {"id": trade_id})
            now = next((trade_status(r.get("status")) for r in rows if r.get("id") == trade_id), "")
            if now != status:
                missing = now == "CONFIRMED" and trade_id not in self.applied
                report.differences.append(
                    f"trade {trade_id[:8]} was {status} when polytui stopped; the exchange says "
                    f"{now or 'nothing'}" + ("; its fill is not in the journal" if missing else "")
                )

    async def _positions(self, report: StartReport, positions: Mapping[str, Decimal]) -> int:
        held: dict[str, Decimal] = {}
        for row in await self._position_rows():
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
        return len(held)

    async def _position_rows(self) -> list[dict[str, Any]]:
        response = await self.clob.http.get(
            self.data_api + "/positions",
            params={"user": self.signer.funder, "sizeThreshold": "0", "limit": "500"},
        )
        if response.status_code != 200:
            raise LiveError(f"data-api /positions answered HTTP {response.status_code}")
        data = response.json()
        return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []


def journal_orders(journal: Any) -> tuple[set[str], set[str]]:
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


def journal_unsettled(journal: Any) -> dict[str, str]:
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
