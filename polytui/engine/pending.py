"""The engine's side of tentative trades: a pending transaction mined, or gone for good.

A mempool trade becomes a signal (and maybe an intent) before its transaction is mined. When
the chain's logs of that transaction arrive, the signal's trade takes the logged amounts and
loses its pending mark. When the transaction is dropped, replaced or reverted, the trade never
happened: a pending intent built on it is withdrawn with the reason, and an order already sent
is flagged in the journal (``whale_tx_retracted``, which ``polytui report`` shows) and
announced. Both run from the engine's inbox, so the engine stays the single writer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

from polytui.engine.ports import Journal, Strategy
from polytui.engine.publish import Publisher
from polytui.feeds.tentative import confirmed
from polytui.model import CommandResult, IntentStatus, Signal, SignalStatus, WhaleTrade

# An intent in one of these states has (or had) an order on its way: it is flagged, not undone.
SENT = frozenset({IntentStatus.APPROVED, IntentStatus.FILLED, IntentStatus.FAILED})

Reject = Callable[[str, str], Awaitable[CommandResult]]


class PendingTrades:
    """Confirms or withdraws what was built on a pending transaction."""

    def __init__(
        self, journal: Journal, strategy: Strategy, publisher: Publisher, reject: Reject
    ) -> None:
        self.journal = journal
        self.strategy = strategy
        self.publisher = publisher
        self.reject = reject  # the operator's reject: journaled, saved and published

    def confirm(self, key: object, settled: WhaleTrade) -> None:
        """The transaction was mined: the signal's trade becomes the logged fill."""
        for signal, trade in self.publisher.signals.holding(key):
            mined = confirmed(trade, settled)
            trades = tuple(mined if t is trade else t for t in signal.trades)
            self.publisher.signal(replace(signal, trades=trades))
            self.journal.append(
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

    async def retract(self, key: object, reason: str) -> None:
        """The transaction will not be mined: withdraw what was built on it."""
        why = f"whale transaction {reason} before it was mined"
        for signal, trade in self.publisher.signals.holding(key):
            self.strategy.dedup.forget(trade)  # a re-sent transaction of the trade is new again
            intents = self.publisher.signals.intents_of(signal.id)
            for intent_id in intents:
                await self._withdraw(intent_id, signal, trade, why)
            if not intents:
                rejected = replace(signal, status=SignalStatus.REJECTED, reason=why)
                self.publisher.signal(rejected)
            self.publisher.notice("warning", f"signal {signal.id}: {why} ({trade.tx_hash[:12]}…)")

    async def _withdraw(self, intent_id: str, signal: Signal, trade: WhaleTrade, why: str) -> None:
        intent = self.strategy.approvals.get(intent_id)
        if intent is None:
            return
        if intent.status is IntentStatus.PENDING:
            await self.reject(intent_id, why)
            return
        if intent.status not in SENT:
            return  # already rejected or expired: nothing was sent
        self.journal.append(
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
        self.publisher.signal(replace(signal, reason=f"order sent, but the {why}"))
        text = f"order already sent for {intent_id}, but the {why}: check it"
        self.publisher.notice("error", text)
