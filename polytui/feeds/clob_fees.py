"""The fee the CLOB charges in a market: ``GET /clob-markets/{condition_id}`` → ``fd``.

CLOB V2 facts (PROTOCOL.md §2, §6): the compact market record carries ``fd: {r, e, to}`` — the
curve's rate, its exponent and whether only takers pay (``to`` is left out when false); a record
without ``fd``, or with a null rate, charges nothing (the official SDK sizes orders from ``fd``
the same way). Gamma's ``feeSchedule`` says the same thing for the same market, but it is a copy
that can lag a rate change (sports went 0.03 → 0.05 on 2026-07-10), so for live sizing the
CLOB's own numbers win and a disagreement is counted and logged. ``GET /fee-rate`` is never read
for the rate: its ``base_fee`` is the legacy V1 bps field that V1 orders had to sign, not the
curve's rate.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from decimal import Decimal
from typing import Any

import httpx

from polytui.feeds.http import get_json
from polytui.model import FeeSchedule, Market, parse_decimal

log = logging.getLogger(__name__)


class ClobFeeError(ValueError):
    """A ``/clob-markets`` record whose fee fields cannot be read."""


def fee_exponent(raw: Any, name: str) -> int | Decimal:
    """A fee curve's exponent as sent: a fractional one is kept (never truncated), a whole one
    is an ``int``."""
    value = parse_decimal(raw, name=name, maximum=Decimal(10))
    return int(value) if value == value.to_integral_value() else value.normalize()


def schedule_from_clob(record: Any) -> FeeSchedule | None:
    """The fee schedule in a ``/clob-markets`` record, or None when it charges nothing (pure)."""
    if not isinstance(record, dict):
        raise ClobFeeError("record is not an object")
    fd = record.get("fd")
    if fd is None:
        return None
    if not isinstance(fd, dict):
        raise ClobFeeError("fd is not an object")
    raw_rate = fd.get("r")
    if raw_rate is None:
        return None
    try:
        rate = parse_decimal(raw_rate, name="fd.r", maximum=Decimal(1))
        raw_exponent = fd.get("e")
        exponent = 1 if raw_exponent is None else fee_exponent(raw_exponent, "fd.e")
    except ValueError as exc:
        raise ClobFeeError(str(exc)) from None
    if rate == 0:
        return None
    return FeeSchedule(rate=rate, exponent=exponent, taker_only=bool(fd.get("to", False)))


def _curve(schedule: FeeSchedule | None) -> tuple[Decimal, Decimal, bool] | None:
    if schedule is None:
        return None
    return (schedule.rate, Decimal(schedule.exponent), schedule.taker_only)


def reconcile(gamma: FeeSchedule | None, clob: FeeSchedule | None) -> FeeSchedule | None:
    """The schedule to size with: the CLOB's curve, with Gamma's rebate rate and fee type."""
    if clob is None or _curve(gamma) == _curve(clob):
        return None if clob is None else gamma
    if gamma is None:
        return clob
    return replace(clob, rebate_rate=gamma.rebate_rate, fee_type=gamma.fee_type)


def describe(schedule: FeeSchedule | None) -> str:
    """``rate 0.05, exponent 1, taker only`` or ``no fee``."""
    if schedule is None:
        return "no fee"
    who = "taker only" if schedule.taker_only else "both sides"
    return f"rate {schedule.rate}, exponent {schedule.exponent}, {who}"


class ClobFeeSource:
    """Reads ``fd`` for a market and applies it over Gamma's ``feeSchedule``."""

    def __init__(self, client: httpx.AsyncClient, clob_url: str) -> None:
        self.client = client
        self.clob_url = clob_url.rstrip("/")
        self.requests = 0
        self.errors = 0
        self.rejected = 0
        # Markets whose Gamma schedule disagreed with the CLOB's (the CLOB's was used).
        self.mismatches: dict[str, str] = {}

    async def schedule(self, condition_id: str) -> tuple[bool, FeeSchedule | None]:
        """(True, the CLOB's schedule) or (False, None) when it could not be read."""
        self.requests += 1
        result = await get_json(self.client, f"{self.clob_url}/clob-markets/{condition_id}")
        if not result.ok:
            self.errors += 1
            log.info("clob fees: %s: %s", condition_id, result.error)
            return False, None
        try:
            return True, schedule_from_clob(result.data)
        except ClobFeeError as exc:
            self.rejected += 1
            log.warning("clob fees: dropped the record of %s: %s", condition_id, exc)
            return False, None

    async def apply(self, market: Market) -> Market:
        """``market`` with the fee the CLOB charges; Gamma's when the CLOB cannot be read."""
        ok, clob = await self.schedule(market.condition_id)
        if not ok:
            return market
        gamma = market.fee_schedule
        chosen = reconcile(gamma, clob)
        if _curve(gamma) != _curve(clob):
            text = f"Gamma says {describe(gamma)}, the CLOB charges {describe(clob)}"
            if self.mismatches.get(market.condition_id) != text:
                log.warning("fees of %s differ: %s; sizing with the CLOB's", market.slug, text)
            self.mismatches[market.condition_id] = text
        else:
            self.mismatches.pop(market.condition_id, None)
        return market if chosen is gamma else replace(market, fee_schedule=chosen)
