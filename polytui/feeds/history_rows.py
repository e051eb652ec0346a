"""Pure parsers for data-api history rows, v2 (snake_case) and v1 (camelCase) alike.

Facts (HISTORY-MEMPOOL-REMOTE.md §1.1-§1.2): v2 rows name ``proxy_wallet``/``token_id``/
``condition_id``, v1 rows ``proxyWallet``/``asset``/``conditionId``; numbers may be JSON floats
(parsed through ``str``); ``timestamp`` is unix seconds. ``/activity`` mixes trades with REDEEM,
MERGE, SPLIT, … rows whose sentinels are price 0, an empty asset/condition/side and
``outcomeIndex`` 999; those become :class:`ActivityEvent`, never trades. v2 resolutions give
``payouts`` in 1e6 units (``[1000000, 0]``, void ``[500000, 500000]``).

Every parser raises :class:`RowError` for a row it cannot use; the caller counts and drops it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from polytui.model import MAX_SHARES, BadValue, Side, parse_decimal, parse_price, parse_shares
from polytui.model.history import (
    ActivityEvent,
    ClosedPosition,
    HistoryTrade,
    LeaderEntry,
    PnlPoint,
    Resolution,
)

SENTINEL_OUTCOME_INDEX = 999
MILLION = Decimal(1_000_000)
BIG_USD = Decimal(10) ** 12


class RowError(ValueError):
    """A history row that cannot be used (counted and dropped by the caller)."""


def _get(row: dict[str, Any], *names: str) -> Any:
    for name in names:
        if name in row and row[name] is not None:
            return row[name]
    return None


def _text(row: dict[str, Any], *names: str) -> str:
    value = _get(row, *names)
    return value if isinstance(value, str) else ""


def _wallet(row: dict[str, Any]) -> str:
    wallet = _get(row, "proxy_wallet", "proxyWallet", "user_id", "userId")
    if not isinstance(wallet, str) or not wallet.startswith("0x") or len(wallet) != 42:
        raise RowError("bad wallet")
    try:
        int(wallet[2:], 16)
    except ValueError:
        raise RowError("bad wallet") from None
    return wallet.lower()


def parse_ts_ms(raw: Any) -> int:
    """Unix seconds (or milliseconds, or an ISO time) → integer milliseconds."""
    if isinstance(raw, bool) or raw is None:
        raise RowError("bad timestamp")
    if isinstance(raw, str) and raw and not raw.replace(".", "", 1).isdigit():
        try:
            return int(datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp() * 1000)
        except ValueError:
            raise RowError("bad timestamp") from None
    try:
        value = parse_decimal(raw, name="timestamp")
    except BadValue:
        raise RowError("bad timestamp") from None
    if value > 10**11:  # already milliseconds
        return int(value)
    if value <= 0:
        raise RowError("bad timestamp")
    return int(value * 1000)


def _index(row: dict[str, Any]) -> int | None:
    raw = _get(row, "outcome_index", "outcomeIndex")
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.isdigit():
        return int(raw)
    return None


def _side(raw: Any) -> Side:
    if raw not in ("BUY", "SELL"):
        raise RowError("bad side")
    return Side(raw)


def trade_from_history_row(row: Any) -> HistoryTrade:
    """One ``/v2/trades`` or ``/trades`` row (or a TRADE ``/activity`` row)."""
    if not isinstance(row, dict):
        raise RowError("row is not an object")
    wallet = _wallet(row)
    token = _get(row, "token_id", "asset")
    if not isinstance(token, str) or not token:
        raise RowError("missing token")
    try:
        price = parse_price(_get(row, "price"))
        shares = parse_shares(_get(row, "size"))
    except BadValue as exc:
        raise RowError(str(exc).split(":")[0]) from None
    if price <= 0 or shares <= 0:
        raise RowError("zero size or price")
    index = _index(row)
    return HistoryTrade(
        wallet=wallet,
        token_id=token,
        condition_id=_text(row, "condition_id", "conditionId").lower(),
        side=_side(_get(row, "side")),
        price=price,
        shares=shares,
        ts_ms=parse_ts_ms(_get(row, "timestamp")),
        tx_hash=_text(row, "transaction_hash", "transactionHash").lower(),
        outcome=_text(row, "outcome"),
        outcome_index=None if index == SENTINEL_OUTCOME_INDEX else index,
        title=_text(row, "title"),
        slug=_text(row, "slug"),
        event_slug=_text(row, "event_slug", "eventSlug"),
    )


def activity_from_row(row: Any) -> HistoryTrade | ActivityEvent:
    """One ``/v2/activity`` or ``/activity`` row: a trade, or a REDEEM/MERGE/… event."""
    if not isinstance(row, dict):
        raise RowError("row is not an object")
    kind = _get(row, "type")
    if not isinstance(kind, str) or not kind:
        raise RowError("missing type")
    kind = kind.upper()
    if kind == "TRADE":
        return trade_from_history_row(row)
    wallet = _wallet(row)
    try:
        usdc = parse_decimal(
            _get(row, "usdc_size", "usdcSize") or 0, name="usdcSize", minimum=None, maximum=BIG_USD
        )
        shares = parse_decimal(
            _get(row, "size") or 0, name="size", minimum=None, maximum=MAX_SHARES
        )
    except BadValue as exc:
        raise RowError(str(exc).split(":")[0]) from None
    return ActivityEvent(
        wallet=wallet,
        kind=kind,
        condition_id=_text(row, "condition_id", "conditionId").lower(),
        usdc_size=usdc,
        shares=shares,
        ts_ms=parse_ts_ms(_get(row, "timestamp")),
        tx_hash=_text(row, "transaction_hash", "transactionHash").lower(),
    )


def _money(raw: Any, name: str) -> Decimal:
    try:
        return parse_decimal(
            raw if raw is not None else 0, name=name, minimum=-BIG_USD, maximum=BIG_USD
        )
    except BadValue as exc:
        raise RowError(str(exc).split(":")[0]) from None


def closed_position_from_row(row: Any) -> ClosedPosition:
    """One ``/v2/positions?status=CLOSED`` or ``/closed-positions`` row."""
    if not isinstance(row, dict):
        raise RowError("row is not an object")
    wallet = _wallet(row)
    condition = _text(row, "condition_id", "conditionId").lower()
    if not condition:
        raise RowError("missing condition")
    cur = _get(row, "current_price", "curPrice")
    try:
        avg = parse_price(_get(row, "avg_price", "avgPrice") or 0, name="avgPrice")
        cur_price = None if cur is None else parse_price(cur, name="curPrice")
    except BadValue as exc:
        raise RowError(str(exc).split(":")[0]) from None
    ts = _get(row, "last_event_at", "timestamp")
    end = _get(row, "end_date", "endDate")
    return ClosedPosition(
        wallet=wallet,
        condition_id=condition,
        token_id=_text(row, "token_id", "asset"),
        outcome_index=_index(row),
        avg_price=avg,
        total_bought=_money(_get(row, "total_size", "totalBought"), "totalBought"),
        realized_pnl_usd=_money(_get(row, "realized_pnl", "realizedPnl"), "realizedPnl"),
        cur_price=cur_price,
        ts_ms=None if ts is None else parse_ts_ms(ts),
        end_ms=_optional_ts(end),
        title=_text(row, "title"),
    )


def _optional_ts(raw: Any) -> int | None:
    if raw in (None, ""):
        return None
    try:
        return parse_ts_ms(raw)
    except RowError:
        return None


def resolution_from_row(row: Any) -> Resolution | None:
    """One ``/v2/resolutions`` row; None while the market is not settled (not an error)."""
    if not isinstance(row, dict):
        raise RowError("row is not an object")
    condition = _text(row, "condition_id", "conditionId").lower()
    if not condition:
        raise RowError("missing condition")
    raw = row.get("payouts")
    if raw is None or row.get("status") not in (None, "resolved"):
        return None
    if not isinstance(raw, list) or len(raw) < 2:
        raise RowError("bad payouts")
    try:
        units = [parse_decimal(p, name="payouts", maximum=MILLION) for p in raw]
    except BadValue:
        raise RowError("bad payouts") from None
    total = sum(units, Decimal(0))
    if total <= 0:
        return None  # reported but not paid out yet
    return Resolution(
        condition_id=condition,
        payouts=tuple(u / total for u in units),
        resolved_at_ms=_optional_ts(_get(row, "resolved_at", "settlement_time")),
    )


def resolution_from_closed(position: ClosedPosition) -> Resolution | None:
    """v1 fallback: a closed binary position's ``curPrice`` is 1 for the winner, 0 for the loser."""
    index = position.outcome_index
    if position.cur_price not in (Decimal(0), Decimal(1)) or index not in (0, 1):
        return None
    won = position.cur_price
    payouts = (won, 1 - won) if index == 0 else (1 - won, won)
    return Resolution(position.condition_id, payouts, position.end_ms)


def leader_from_row(row: Any, source: str) -> LeaderEntry:
    """A ``/v2/leaderboard``, ``/v1/leaderboard`` or ``/v2/biggest-winners`` row."""
    if not isinstance(row, dict):
        raise RowError("row is not an object")
    rank_raw = _get(row, "rank", "win_rank")
    try:
        rank = int(str(rank_raw)) if rank_raw is not None else 0
    except ValueError:
        rank = 0
    return LeaderEntry(
        wallet=_wallet(row),
        source=source,
        rank=rank,
        name=_text(row, "user_name", "userName", "name"),
        pnl_usd=_money(_get(row, "pnl"), "pnl"),
        volume=_money(_get(row, "volume", "vol"), "vol"),
    )


def holders_from_row(row: Any) -> list[LeaderEntry]:
    """One ``{token, holders: [...]}`` group of ``/v2/holders`` or ``/holders``, flattened."""
    if not isinstance(row, dict):
        raise RowError("row is not an object")
    holders = row.get("holders")
    if not isinstance(holders, list):
        # v2 may return flat holder rows
        holders = [row]
    out: list[LeaderEntry] = []
    for holder in holders:
        if not isinstance(holder, dict):
            continue
        try:
            out.append(
                LeaderEntry(
                    wallet=_wallet(holder),
                    source="holders",
                    name=_text(holder, "name", "pseudonym"),
                    volume=_money(_get(holder, "amount", "balance"), "amount"),
                )
            )
        except RowError:
            continue
    return out


def pnl_points_from(data: Any) -> list[PnlPoint]:
    """``/v2/user-pnl``'s ``points`` (economic P&L, else realized)."""
    points = data.get("points") if isinstance(data, dict) else data
    if not isinstance(points, list):
        raise RowError("no points")
    out: list[PnlPoint] = []
    for point in points:
        if not isinstance(point, dict):
            continue
        value = _get(point, "economic_pnl", "realized_pnl", "p")
        try:
            out.append(PnlPoint(parse_ts_ms(_get(point, "timestamp", "t")), _money(value, "pnl")))
        except RowError:
            continue
    return out
