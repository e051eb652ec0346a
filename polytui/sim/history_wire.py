"""data-api history rows in the documented shapes: v1 camelCase and v2 snake_case.

Field lists follow HISTORY-MEMPOOL-REMOTE.md §1.1 (v1, the live captures) and §1.2 (v2, the
official SDK's models). Numbers are JSON numbers written from Decimal (``wire.dumps``);
timestamps are whole unix seconds. Profile fields (bio, images) are empty strings, as for most
real wallets. ``wall`` turns sim seconds into unix seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from polytui.sim.wire import iso
from polytui.sim.worlds.past import Position
from polytui.sim.worlds.tape import Print
from polytui.sim.worlds.world import WorldMarket

Wall = Callable[[float], float]
SENTINEL_INDEX = 999
OUTCOMES = ("Yes", "No")


def _profile_v1(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "pseudonym": name,
        "bio": "",
        "profileImage": "",
        "profileImageOptimized": "",
    }


def _profile_v2(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "pseudonym": name,
        "bio": "",
        "profile_image": "",
        "profile_image_optimized": "",
    }


def trade_v1(p: Print, market: WorldMarket, name: str, wall: Wall) -> dict[str, Any]:
    """A ``/trades`` row."""
    return {
        "proxyWallet": p.wallet,
        "side": p.side,
        "asset": p.token_id,
        "conditionId": market.condition_id,
        "size": p.shares,
        "price": p.price,
        "timestamp": int(wall(p.t)),
        "title": market.question,
        "slug": market.slug,
        "icon": "",
        "eventSlug": market.slug,
        "outcome": OUTCOMES[p.outcome_index],
        "outcomeIndex": p.outcome_index,
        **_profile_v1(name),
        "transactionHash": p.tx_hash,
    }


def trade_v2(p: Print, market: WorldMarket, name: str, wall: Wall) -> dict[str, Any]:
    """A ``/v2/trades`` row."""
    return {
        "proxy_wallet": p.wallet,
        "token_id": p.token_id,
        "condition_id": market.condition_id,
        "side": p.side,
        "size": p.shares,
        "price": p.price,
        "timestamp": int(wall(p.t)),
        "transaction_hash": p.tx_hash,
        "title": market.question,
        "slug": market.slug,
        "icon": "",
        "event_slug": market.slug,
        "outcome": OUTCOMES[p.outcome_index],
        "outcome_index": p.outcome_index,
        **_profile_v2(name),
    }


def activity_trade(p: Print, market: WorldMarket, name: str, wall: Wall, v2: bool) -> dict:
    """A TRADE ``/activity`` (or ``/v2/activity``) row."""
    usdc = (p.price * p.shares).quantize(Decimal("0.000001"))
    if v2:
        row = trade_v2(p, market, name, wall)
        return {"type": "TRADE", "is_combo": False, "usdc_size": usdc, **row}
    return {"type": "TRADE", "usdcSize": usdc, **trade_v1(p, market, name, wall)}


def activity_redeem(
    wallet: str,
    market: WorldMarket,
    shares: Decimal,
    usdc: Decimal,
    t: float,
    tx_hash: str,
    name: str,
    wall: Wall,
    v2: bool,
) -> dict[str, Any]:
    """A REDEEM row: price 0, empty asset/side/outcome, outcome index 999 (the sentinels)."""
    if v2:
        return {
            "type": "REDEEM",
            "proxy_wallet": wallet,
            "timestamp": int(wall(t)),
            "transaction_hash": tx_hash,
            "is_combo": False,
            "condition_id": market.condition_id,
            "token_id": "",
            "side": "",
            "size": shares,
            "usdc_size": usdc,
            "price": 0,
            "outcome": "",
            "outcome_index": SENTINEL_INDEX,
            "title": market.question,
            "slug": market.slug,
            "icon": "",
            "event_slug": market.slug,
            **_profile_v2(name),
        }
    return {
        "proxyWallet": wallet,
        "timestamp": int(wall(t)),
        "conditionId": market.condition_id,
        "type": "REDEEM",
        "size": shares,
        "usdcSize": usdc,
        "transactionHash": tx_hash,
        "price": 0,
        "asset": "",
        "side": "",
        "outcomeIndex": SENTINEL_INDEX,
        "title": market.question,
        "slug": market.slug,
        "icon": "",
        "eventSlug": market.slug,
        "outcome": "",
        **_profile_v1(name),
    }


def _opposite(pos: Position) -> tuple[str, str]:
    m = pos.market
    if pos.token_id == m.yes_token:
        return m.no_token, OUTCOMES[1]
    return m.yes_token, OUTCOMES[0]


def closed_v1(pos: Position, name: str, wall: Wall) -> dict[str, Any]:
    """A ``/closed-positions`` row (no size, no cashPnl)."""
    m = pos.market
    opposite, opposite_outcome = _opposite(pos)
    return {
        "proxyWallet": pos.wallet,
        "asset": pos.token_id,
        "conditionId": m.condition_id,
        "avgPrice": pos.avg_price,
        "totalBought": pos.shares,
        "realizedPnl": pos.realized_pnl_usd,
        "curPrice": pos.payout,
        "timestamp": int(wall(pos.redeem_t)),
        "title": m.question,
        "slug": m.slug,
        "icon": "",
        "eventSlug": m.slug,
        "outcome": OUTCOMES[pos.outcome_index],
        "outcomeIndex": pos.outcome_index,
        "oppositeOutcome": opposite_outcome,
        "oppositeAsset": opposite,
        "endDate": iso(wall(m.end_s)),
    }


def position_v2(pos: Position, status: str, price: Decimal, name: str, wall: Wall) -> dict:
    """A ``/v2/positions`` row; ``price`` is the token's current price (the payout once
    settled)."""
    m = pos.market
    opposite, opposite_outcome = _opposite(pos)
    closed = status == "CLOSED"
    size = Decimal(0) if closed else pos.shares
    value = (size * price).quantize(Decimal("0.000001"))
    realized = pos.realized_pnl_usd if closed else Decimal(0)
    unrealized = (
        Decimal(0) if closed else (value - pos.total_cost_usd).quantize(Decimal("0.000001"))
    )
    total = realized + unrealized
    cost = pos.total_cost_usd
    return {
        "proxy_wallet": pos.wallet,
        "token_id": pos.token_id,
        "condition_id": m.condition_id,
        "current_size": size,
        "avg_price": pos.avg_price,
        "entry_cost_usdc": pos.cost_usd,
        "entry_fees_usdc": pos.fees_usd,
        "total_cost_usdc": cost,
        "current_price": price,
        "current_value": value,
        "total_size": pos.shares,
        "realized_pnl": realized,
        "unrealized_pnl": unrealized,
        "total_pnl": total,
        "percent_pnl": (total / cost * 100).quantize(Decimal("0.0001")) if cost else 0,
        "percent_realized_pnl": (
            (realized / cost * 100).quantize(Decimal("0.0001")) if cost else 0
        ),
        "status": status,
        "redeemable": status == "REDEEMABLE",
        "mergeable": False,
        "negative_risk": False,
        "archived": False,
        "verified": False,
        "title": m.question,
        "slug": m.slug,
        "icon": "",
        "event_slug": m.slug,
        "outcome": OUTCOMES[pos.outcome_index],
        "opposite_outcome": opposite_outcome,
        "name": name,
        "profile_image": "",
        "event_id": str(1000 + m.index),
        "outcome_index": pos.outcome_index,
        "opposite_token_id": opposite,
        "end_date": iso(wall(m.end_s)),
        "last_event_at": int(wall(pos.redeem_t if closed else pos.fills[-1].t)),
    }


def resolution_v2(market: WorldMarket, resolved: bool, wall: Wall) -> dict[str, Any]:
    """A ``/v2/resolutions`` row: ``payouts`` in millionths once resolved."""
    payouts = [1_000_000, 0] if market.yes_wins else [0, 1_000_000]
    at = int(wall(market.end_s))
    return {
        "question_id": market.question_id,
        "condition_id": market.condition_id,
        "status": "resolved" if resolved else "initialized",
        "extended_review": False,
        "expected_settlement_time": at,
        "settlement_time_basis": "end_date",
        "was_disputed": False,
        "new_version_q": False,
        "proposed_price": None,
        "reproposed_price": None,
        "price": ("1" if market.yes_wins else "0") if resolved else "69",
        "transaction_hash": None,
        "log_index": None,
        "last_update_timestamp": at if resolved else None,
        "market_type": "BINARY",
        "payouts": payouts if resolved else [],
        "resolution_source": "reported",
        "reporter": "UMA_OO",
        "was_arbitrated": False,
        "resolved_block": None,
        "resolved_at": at if resolved else None,
    }


def leader_v1(rank: int, wallet: str, name: str, pnl: Decimal, vol: Decimal) -> dict[str, Any]:
    """A ``/v1/leaderboard`` row (rank as a string)."""
    return {
        "rank": str(rank),
        "proxyWallet": wallet,
        "userName": name,
        "vol": vol,
        "pnl": pnl,
        "profileImage": "",
        "xUsername": "",
        "verifiedBadge": False,
    }


def leader_v2(rank: int, wallet: str, name: str, pnl: Decimal, shares: Decimal) -> dict:
    """A ``/v2/leaderboard`` entry (volume in shares)."""
    return {
        "rank": rank,
        "user_id": wallet,
        "pnl": pnl,
        "volume": shares,
        "user_name": name,
        "profile_image": "",
        "x_username": "",
        "verified": False,
    }


def winner_v2(rank: int, pos: list[Position], name: str, wall: Wall) -> dict[str, Any]:
    """A ``/v2/biggest-winners`` row: one wallet's result in one market."""
    m = pos[0].market
    cost = sum((p.total_cost_usd for p in pos), Decimal(0))
    final = sum((p.shares * p.payout for p in pos), Decimal(0))
    best = max(pos, key=lambda p: p.shares * p.payout)
    return {
        "win_rank": rank,
        "user_id": pos[0].wallet,
        "pnl": (final - cost).quantize(Decimal("0.000001")),
        "initial_value": cost,
        "final_value": final,
        "resolved_at": int(wall(m.end_s)),
        "kind": "market",
        "condition_id": m.condition_id,
        "position_id": best.token_id,
        "event_id": str(1000 + m.index),
        "event_slug": m.slug,
        "event_title": m.question,
        "user_name": name,
    }


def holder(pos: Position, shares: Decimal, name: str, v2: bool) -> dict[str, Any]:
    """One holder of a token (``/holders`` or ``/v2/holders``)."""
    if v2:
        return {
            "proxy_wallet": pos.wallet,
            "token_id": pos.token_id,
            "amount": shares,
            "outcome_index": pos.outcome_index,
            "display_username_public": bool(name),
            "verified": False,
            **_profile_v2(name),
        }
    return {
        "proxyWallet": pos.wallet,
        "asset": pos.token_id,
        "amount": shares,
        "outcomeIndex": pos.outcome_index,
        "displayUsernamePublic": bool(name),
        "verified": False,
        **_profile_v1(name),
    }


PNL_ZERO_FIELDS = (
    "realized_lp_pnl",
    "realized_combo_pnl",
    "fees_refunded",
    "maker_rebate",
    "taker_rebate",
    "reward_income",
    "yield_income",
    "referral_income",
    "sponsored_income",
    "deposits",
    "withdrawals",
    "cashflow_net",
    "wallet_income",
)


def pnl_point(
    ts: int,
    block: int,
    trades: int,
    realized: Decimal,
    unrealized: Decimal,
    shares: Decimal,
    usdc: Decimal,
    fees: Decimal,
) -> dict[str, Any]:
    """A ``UserPnlPoint``: cumulative figures at ``ts``."""
    point: dict[str, Any] = {
        "timestamp": ts,
        "source_block": block,
        "trade_count": trades,
        "realized_market_pnl": realized,
        "realized_pnl": realized,
        "volume": shares,
        "volume_usdc": usdc,
        "unrealized_pnl": unrealized,
        "position_pnl": realized + unrealized,
        "settled_pnl": realized,
        "economic_pnl": realized + unrealized,
        "trade_pnl": realized + unrealized,
        "fees": fees,
        "fees_paid": fees,
    }
    for name in PNL_ZERO_FIELDS:
        point[name] = 0
    return point
