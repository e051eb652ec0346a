"""The second-opinion hook: a pending buy re-sized on an adjusted win-probability estimate.

``adjust`` comes from the advisors (``polytui.advisors.second_opinion.Review.adjust``), which
bound how far it moves the estimate. A lower estimate shrinks the buy to what the strategy would
size at it, and rejects it when no edge or no minimum order is left; a higher one is recorded but
never grows the buy past what was sized and risk-checked. Nothing here creates an intent.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from polytui.amounts import MICRO
from polytui.model import ZERO, IntentStatus, PortfolioView, Side
from polytui.strategy.approvals import ApprovalError
from polytui.strategy.outcomes import Outcome, Record, decision_record
from polytui.strategy.parts import StrategyParts
from polytui.strategy.sizing import size_on


def reconsider(
    strategy: StrategyParts,
    intent_id: str,
    adjust: Callable[[Decimal], Decimal],
    note: str,
    view: PortfolioView,
) -> Outcome:
    """Re-size (or reject) pending buy ``intent_id`` on ``adjust(its estimate)``."""
    now = strategy.clock.now()
    approvals = strategy.approvals
    intent = approvals.get(intent_id)
    if intent is None or intent.status is not IntentStatus.PENDING:
        return Outcome(False, "no pending intent to reconsider", intent)
    if intent.side is not Side.BUY or intent.shares <= 0:
        return Outcome(False, "only buys get a second opinion", intent)
    before = intent.confidence  # p = all-in cost + the net edge that sized it
    after = adjust(before)
    shares = intent.shares
    fee_ps = intent.expected_fee_usd / intent.shares
    market = strategy.market_of(intent_id)
    minimum = market.min_order_size if market is not None else ZERO
    if after < before:
        sizing = size_on(
            strategy.settings.strategy,
            net=after - (intent.sized_price + fee_ps),
            avg_price=intent.sized_price,
            fee_per_share=fee_ps,
            cash=view.cash_usd,
            min_shares=minimum,
        )
        shares = min(shares, sizing.shares)
    advice = f"{note}; estimate {before:.3f} → {after:.3f}"
    if shares != intent.shares:
        advice += f", {intent.shares} → {shares} shares"
    record: Record = (
        "advice",
        intent_id,
        {
            "intent_id": intent_id,
            "estimate_before": before,
            "estimate_after": after,
            "shares_before": intent.shares,
            "shares_after": shares,
            "note": advice,
        },
    )
    try:
        if shares <= 0:
            done = approvals.decide(
                intent_id, IntentStatus.REJECTED, f"{advice}: no edge left", now
            )
            return Outcome(False, done.reason, done, [record, decision_record(done, "advisors")])
        revised = approvals.revise(
            intent_id,
            now,
            shares=shares,
            usd=(shares * intent.limit_price).quantize(MICRO),
            expected_fee_usd=(shares * fee_ps).quantize(MICRO),
            advice=advice,
        )
    except ApprovalError as exc:
        return Outcome(False, str(exc), approvals.get(intent_id))
    return Outcome(True, advice, revised, [record])
