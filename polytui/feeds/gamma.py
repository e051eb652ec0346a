"""Gamma market metadata → ``Market``, cached, with concurrent lookups collapsed.

Gamma facts (PROTOCOL.md §3): ``outcomes``, ``outcomePrices`` and ``clobTokenIds`` are JSON
strings inside JSON (index i of outcomes ↔ index i of token ids); ``clob_token_ids`` is a
*repeated* query parameter; ``endDate`` is a full ISO time and ``endDateIso`` a date only (taken
as the end of that UTC day); 2026 records carry ``feeSchedule`` and ``feeType``. A closed market
whose ``outcomePrices`` has a "1" names its winner, unless ``umaResolutionStatus`` (older
records: the last entry of ``umaResolutionStatuses``) says the result is not final yet; a void
settles at "0.5" on each side. Closed markets are only listed with ``closed=true`` (since
2026-04-09).

Protocol V2 markets (``version: "v2"``) trade, book and subscribe by ``positionIds`` (a plain
array of decimal strings), never by ``clobTokenIds``, even when both are present; an unknown
version or a non-decimal id is a bad record. They settle through ExchangeV3, whose fill event
the chain feed does not watch, so copying them is not supported (``Market.unsupported``).

``orderMinSize`` is read as **shares**, whatever the Market Details page says ("minimum order
size in USDC"): the CLOB refuses a limit order below it with "Size (1.08) lower than the
minimum: 5" (py-clob-client #301, 2026-03) and the docs' Place Orders page gives the book's
``min_order_size`` in shares. Amount-based market orders have a separate $1 minimum
(nautilus_trader #3874); the official docs are still asked to settle it (py-sdk #302).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from polytui.feeds.clob_fees import ClobFeeSource, fee_exponent
from polytui.feeds.http import get_json
from polytui.model import FeedStatus, FeeSchedule, Market, Outcome, parse_decimal
from polytui.model.status import polled_status
from polytui.text import clean_text

log = logging.getLogger(__name__)


class GammaError(ValueError):
    """A Gamma record that cannot be turned into a Market."""


def _json_list(raw: Any, name: str) -> list[Any]:
    if isinstance(raw, list):
        return raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError:
            raise GammaError(f"{name} is not JSON") from None
        if isinstance(value, list):
            return value
    raise GammaError(f"{name} missing or not a list")


def _end_time(record: dict[str, Any]) -> datetime | None:
    raw = record.get("endDate")
    if isinstance(raw, str) and raw:
        try:
            return datetime.fromisoformat(raw.replace("Z", "+00:00")).astimezone(UTC)
        except ValueError:
            pass
    raw = record.get("endDateIso")
    if isinstance(raw, str) and raw:
        try:
            day = datetime.fromisoformat(raw[:10])
        except ValueError:
            return None
        return day.replace(hour=23, minute=59, second=59, tzinfo=UTC)
    return None


def _fee_schedule(record: dict[str, Any]) -> FeeSchedule | None:
    raw = record.get("feeSchedule")
    if not isinstance(raw, dict) or record.get("feesEnabled") is False:
        return None
    rate = parse_decimal(raw.get("rate", 0), name="feeSchedule.rate", maximum=Decimal(1))
    if rate == 0:
        return None
    return FeeSchedule(
        rate=rate,
        exponent=fee_exponent(raw.get("exponent", 1), "feeSchedule.exponent"),
        taker_only=bool(raw.get("takerOnly", True)),
        rebate_rate=parse_decimal(raw.get("rebateRate", 0), name="feeSchedule.rebateRate"),
        fee_type=str(record.get("feeType") or ""),
    )


# Gamma ``version`` → the field holding each outcome's trading id (docs: Protocol V2 API
# migration): "Choose the ID field by version, even when both fields are present". A record
# without ``version`` predates Protocol V2 and is a CTF ("v1") market.
ID_FIELDS = {"v1": "clobTokenIds", "v2": "positionIds"}

FINAL_UMA_STATUSES = frozenset({"resolved", "settled"})
HALF = Decimal("0.5")


def _uma_status(record: dict[str, Any]) -> str:
    raw = record.get("umaResolutionStatus")
    if isinstance(raw, str) and raw:
        return raw.strip().lower()
    try:
        history = _json_list(record.get("umaResolutionStatuses"), "umaResolutionStatuses")
    except GammaError:
        return ""
    return str(history[-1]).strip().lower() if history else ""


def _settle_prices(record: dict[str, Any], count: int) -> tuple[Decimal, ...] | None:
    """The final payout of each outcome, or None while the market is open or not final.

    Prices such as "0.9995" before the market closes, or a proposed or disputed UMA answer,
    are not a result."""
    if not record.get("closed") or record.get("outcomePrices") is None:
        return None
    status = _uma_status(record)
    if status and status not in FINAL_UMA_STATUSES:
        return None
    listed = _json_list(record.get("outcomePrices"), "outcomePrices")  # malformed: bad record
    try:
        prices = tuple(Decimal(str(p)) for p in listed)
        if len(prices) != count:
            return None
        if all(p in (0, 1) for p in prices) and sum(prices) == 1:
            return tuple(Decimal(int(p)) for p in prices)
        if all(p == HALF for p in prices):
            return tuple(HALF for _ in prices)
    except (ArithmeticError, ValueError):
        return None
    return None


def market_from_gamma(record: dict[str, Any]) -> Market:
    """Parse one Gamma market record (pure)."""
    if not isinstance(record, dict):
        raise GammaError("record is not an object")
    condition_id = record.get("conditionId")
    if not isinstance(condition_id, str) or not condition_id:
        raise GammaError("conditionId missing")
    names = _json_list(record.get("outcomes"), "outcomes")
    version = clean_text(record.get("version") or "v1").lower()
    if version not in ID_FIELDS:
        raise GammaError(f"unsupported market version {version[:20]!r}")
    id_field = ID_FIELDS[version]
    tokens = _json_list(record.get(id_field), id_field)
    if len(names) != len(tokens) or not tokens:
        raise GammaError(f"outcomes and {id_field} differ in length")
    if not all(isinstance(t, str | int) and str(t).isdecimal() for t in tokens):
        raise GammaError(f"{id_field} holds an id that is not a decimal string")
    outcomes = tuple(
        Outcome(i, clean_text(n), str(t))
        for i, (n, t) in enumerate(zip(names, tokens, strict=True))
    )
    closed = bool(record.get("closed", False))
    settled = _settle_prices(record, len(outcomes))
    winner = None
    if settled is not None:
        for outcome, price in zip(outcomes, settled, strict=True):
            if price == 1:
                winner = outcome.token_id
    tags_raw = record.get("tags") or []
    if not isinstance(tags_raw, list):  # cosmetic: a malformed list costs the tags, not the market
        tags_raw = []
    tags = tuple(
        clean_text(t.get("label") or t.get("slug")) if isinstance(t, dict) else clean_text(t)
        for t in tags_raw
    )
    return Market(
        condition_id=condition_id,
        question=clean_text(record.get("question") or ""),
        slug=clean_text(record.get("slug") or ""),
        outcomes=outcomes,
        end_time=_end_time(record),
        tick_size=parse_decimal(
            record.get("orderPriceMinTickSize", "0.01"), name="tick", maximum=Decimal("0.1")
        ),
        min_order_size=parse_decimal(record.get("orderMinSize", 5), name="orderMinSize"),
        neg_risk=bool(record.get("negRisk", False)),
        fee_schedule=_fee_schedule(record),
        tags=tags,
        active=bool(record.get("active", True)),
        closed=closed,
        accepting_orders=bool(record.get("acceptingOrders", not closed)),
        winning_token_id=winner,
        settle_prices=settled,
        version=version,
        description=clean_text(record.get("description") or "", 2000),
    )


WARM_BATCH = 20  # condition ids per Gamma request when warming many markets at once


class MarketDirectory:
    """Token id → Market via Gamma, cached with a TTL; one request per token at a time."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        *,
        ttl_s: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
        store: Any = None,
        fees: ClobFeeSource | None = None,
    ) -> None:
        self.client = client
        # Live sizing: the fee the CLOB charges, cross-checked against Gamma's feeSchedule.
        self.fees = fees
        self.base_url = base_url.rstrip("/")
        self.ttl_s = ttl_s
        self.monotonic = monotonic
        self.store = store
        self.name = "gamma"
        self._by_token: dict[str, tuple[Market, float]] = {}
        self._inflight: dict[str, asyncio.Future[Market | None]] = {}
        self.requests = 0
        self.errors = 0
        self.rejected = 0
        self.last_ok_at: float | None = None
        self.detail = ""

    def put(self, market: Market) -> None:
        """Insert or refresh a market in the cache."""
        now = self.monotonic()
        for outcome in market.outcomes:
            self._by_token[outcome.token_id] = (market, now)

    def cached(self, token_id: str) -> Market | None:
        """The cached market for a token, fresh or not (no I/O)."""
        hit = self._by_token.get(token_id)
        return hit[0] if hit else None

    def fresh(self, token_id: str) -> Market | None:
        """The cached market for a token while it is within the TTL (no I/O)."""
        hit = self._by_token.get(token_id)
        if hit is None or self.monotonic() - hit[1] >= self.ttl_s:
            return None
        return hit[0]

    async def warm(self, condition_ids: list[str], batch: int = WARM_BATCH) -> list[Market]:
        """Fetch the open markets of many conditions, ``batch`` per request (``condition_ids``
        repeated), into the cache; those still fresh for half the TTL are not asked again.
        Returns every market now known of them."""
        fetched_at = {m.condition_id: at for m, at in self._by_token.values()}
        now = self.monotonic()
        due = [
            c
            for c in dict.fromkeys(condition_ids)
            if c not in fetched_at or now - fetched_at[c] >= self.ttl_s / 2
        ]
        for start in range(0, len(due), batch):
            chunk = due[start : start + batch]
            params = [("condition_ids", c) for c in chunk]
            await self._fetch([*params, ("closed", "false"), ("limit", str(len(chunk)))])
        known = {m.condition_id: m for m, _at in self._by_token.values()}
        return [known[c] for c in dict.fromkeys(condition_ids) if c in known]

    async def get_by_token(self, token_id: str) -> Market | None:
        """The market trading ``token_id`` (cache first; one request however many callers).

        Gamma leaves closed markets out unless ``closed=true`` is sent, so a lookup that finds
        nothing open asks again for closed ones. A record is never kept past its TTL because a
        refresh came back empty: the old copy would say "open" for ever. Only when Gamma cannot
        be reached at all is the last known record returned.
        """
        hit = self._by_token.get(token_id)
        if hit is not None and self.monotonic() - hit[1] < self.ttl_s:
            return hit[0]
        pending = self._inflight.get(token_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Market | None] = asyncio.get_running_loop().create_future()
        self._inflight[token_id] = future
        try:
            # A known market is refreshed by its condition id: that finds a Protocol V2 market
            # too, whose position ids are not clobTokenIds.
            query = (
                ("clob_token_ids", token_id)
                if hit is None
                else ("condition_ids", hit[0].condition_id)
            )
            ok, market = await self._lookup([query], closed_first=False)
            if market is not None and market.outcome_for(token_id) is None:
                market = None
            if not ok and hit is not None:
                market = hit[0]
            elif market is None:
                self._by_token.pop(token_id, None)
            future.set_result(market)
            return market
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            self._inflight.pop(token_id, None)
            if not future.done():
                future.cancel()

    async def get_by_condition(
        self, condition_id: str, *, closed_first: bool = False
    ) -> Market | None:
        """The market with this condition id, open or closed (always asks Gamma).

        ``closed_first`` asks for the closed record first (a market past its end).
        """
        _, market = await self._lookup([("condition_ids", condition_id)], closed_first=closed_first)
        return market

    async def _lookup(
        self, params: list[tuple[str, str]], *, closed_first: bool
    ) -> tuple[bool, Market | None]:
        """Ask for the open record and for the closed one (``closed=true``), in that order
        unless ``closed_first``; stop at the first found. ``ok`` is False if a request failed."""
        order = ("true", "false") if closed_first else ("false", "true")
        ok = True
        for closed in order:
            errors = self.errors
            market = await self._fetch([*params, ("closed", closed)])
            ok = ok and self.errors == errors
            if market is not None:
                return True, market
        return ok, None

    async def _fetch(self, params: list[tuple[str, str]]) -> Market | None:
        self.requests += 1
        result = await get_json(self.client, f"{self.base_url}/markets", params=params)
        if not result.ok:
            self.errors += 1
            self.detail = f"gamma: {result.error}"
            return None
        records = result.data if isinstance(result.data, list) else []
        market = None
        for record in records:
            try:
                market = market_from_gamma(record)
            except (GammaError, ValueError, TypeError, KeyError, AttributeError) as exc:
                # Counted and dropped; raising here lost the whole page (and failed the lookup).
                self.rejected += 1
                log.warning("gamma: dropped a market record: %s", exc)
                continue
            if self.fees is not None and not market.closed:  # a closed market is not traded
                market = await self.fees.apply(market)
            self.put(market)
        self.last_ok_at = self.monotonic()
        self.detail = ""
        return market

    async def run(self) -> None:
        """Nothing to run: lookups happen on demand (kept so the engine can treat it as a feed)."""
        await asyncio.Event().wait()

    async def stop(self) -> None:
        """Close the shared HTTP client."""
        await self.client.aclose()

    def status(self) -> FeedStatus:
        """Request counters (no I/O)."""
        age = None if self.last_ok_at is None else self.monotonic() - self.last_ok_at
        return polled_status(
            self.name,
            started=self.requests > 0,
            detail=self.detail,
            last_ok_age_s=age,
            messages=self.requests - self.errors,
            rejected=self.rejected,
            errors=self.errors,
        )
