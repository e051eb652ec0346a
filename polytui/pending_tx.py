"""The engine's side of tentative trades: a pending transaction mined, or gone for good.

A mempool trade becomes a signal (and maybe an intent) before its transaction is mined. When
the chain's logs of that transaction arrive, the signal's trade takes the logged amounts and
loses its pending mark. When the transaction is dropped, replaced or reverted, the trade never
happened: a pending intent built on it is withdrawn with the reason, and an order already sent
is flagged in the journal (``whale_tx_retracted``, which ``polytui report`` shows) and
announced. These run as engine inbox jobs, so the engine stays the single writer.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from polytui.feeds.tentative import confirmed
from polytui.model import IntentStatus, Signal, SignalStatus, WhaleTrade

# An intent in one of these states has (or had) an order on its way: it is flagged, not undone.
SENT = frozenset({IntentStatus.APPROVED, IntentStatus.FILLED, IntentStatus.FAILED})


def _holding(engine: Any, key: object) -> list[tuple[Signal, WhaleTrade]]:
    """Signals with a trade of this dedup key, and that trade."""
    found: list[tuple[Signal, WhaleTrade]] = []
    for signal in list(engine._signals.values()):
        for trade in signal.trades:
            if trade.dedup_key == key:
                found.append((signal, trade))
                break
    return found


def _intents_of(engine: Any, signal_id: str) -> list[str]:
    return [i for i, s in engine._intent_signal.items() if s == signal_id]


async def confirm(engine: Any, key: object, settled: WhaleTrade) -> None:
    """The transaction was mined: the signal's trade becomes the logged fill."""
    for signal, trade in _holding(engine, key):
        mined = confirmed(trade, settled)
        trades = tuple(mined if t is trade else t for t in signal.trades)
        engine._remember_signal(replace(signal, trades=trades))
        engine.journal.append(
            "whale_tx_mined",
            {
                "signal_id": signal.id,
                "tx_hash": mined.tx_hash,
                "wallet": mined.wallet,
                "pending_shares": trade.shares,
                "pending_price": trade.price,
                "shares": mined.shares,
                "price": mined.price,
                "block_number": mined.block_number,
            },
            ref=signal.id,
        )


async def retract(engine: Any, key: object, reason: str) -> None:
    """The transaction will not be mined: withdraw what was built on it."""
    why = f"whale transaction {reason} before it was mined"
    for signal, trade in _holding(engine, key):
        forget = getattr(engine.strategy, "dedup", None)
        if forget is not None:
            forget.forget(trade)  # a re-sent transaction of the same trade is copied again
        intents = _intents_of(engine, signal.id)
        for intent_id in intents:
            await _withdraw(engine, intent_id, signal, trade, why)
        if not intents:
            engine._remember_signal(replace(signal, status=SignalStatus.REJECTED, reason=why))
        engine._notice("warning", f"signal {signal.id}: {why} ({trade.tx_hash[:12]}…)")


async def _withdraw(
    engine: Any, intent_id: str, signal: Signal, trade: WhaleTrade, why: str
) -> None:
    intent = engine.strategy.approvals.get(intent_id)
    if intent is None:
        return
    if intent.status is IntentStatus.PENDING:
        await engine._cmd_reject(intent_id, why)
        return
    if intent.status not in SENT:
        return  # already rejected or expired: nothing was sent
    engine.journal.append(
        "whale_tx_retracted",
        {
            "intent_id": intent_id,
            "signal_id": signal.id,
            "tx_hash": trade.tx_hash,
            "wallet": trade.wallet,
            "intent_status": intent.status.value,
            "reason": why,
        },
        ref=intent_id,
        durable=True,
    )
    engine._remember_signal(replace(signal, reason=f"order sent, but the {why}"))
    engine._notice("error", f"order already sent for {intent_id}, but the {why}: check it")
