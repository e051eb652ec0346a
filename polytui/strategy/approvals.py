"""The approval queue: sized intents wait for a decision, and go stale after a TTL.

The price an intent was sized on is only good for a short while, so an intent not decided within
``ttl_s`` expires. Deciding an intent that is no longer pending is refused with a message that
says what happened to it. The TTL runs on the monotonic clock: a wall clock stepped back (NTP,
an operator) never makes an expired intent approvable again, and one stepped forward never
expires a fresh one. ``expires_at`` (wall time) is what the screen shows.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from polytui.clock import Clock, SystemClock
from polytui.model import IntentStatus, TradeIntent, usd
from polytui.model.records import intent_from_record, intent_to_record


class ApprovalError(ValueError):
    """A decision that cannot be taken (unknown, expired or already decided intent)."""


class ApprovalQueue:
    """Intents by id, in arrival order, with per-wallet approval policy."""

    def __init__(
        self,
        ttl_s: float,
        policy: str = "manual",
        per_wallet: dict[str, str] | None = None,
        clock: Clock | None = None,
    ):
        self.ttl = timedelta(seconds=ttl_s)
        self.policy = policy
        self.per_wallet = {k.lower(): v for k, v in (per_wallet or {}).items()}
        self.clock: Clock = clock or SystemClock()
        self._intents: dict[str, TradeIntent] = {}
        # Monotonic deadline of each pending intent.
        self._deadline: dict[str, float] = {}

    def _lapsed(self, intent: TradeIntent) -> bool:
        deadline = self._deadline.get(intent.id)
        if deadline is None:  # not queued through add/restore: fall back to its wall expiry
            return self.clock.now() >= intent.expires_at
        return self.clock.monotonic() >= deadline

    def policy_for(self, wallet: str) -> str:
        """manual, auto or observe for this wallet."""
        return self.per_wallet.get(wallet.lower(), self.policy)

    def expires_at(self, now: datetime) -> datetime:
        """When an intent created now goes stale."""
        return now + self.ttl

    def add(self, intent: TradeIntent) -> None:
        """Queue a new pending intent; its own TTL (``expires_at - created_at``) starts now."""
        self._intents[intent.id] = intent
        ttl = max(0.0, (intent.expires_at - intent.created_at).total_seconds())
        self._deadline[intent.id] = self.clock.monotonic() + ttl
        # Keep the decided tail bounded; pending ones always stay.
        if len(self._intents) > 2000:
            for key in [
                k for k, v in self._intents.items() if v.status is not IntentStatus.PENDING
            ][:500]:
                del self._intents[key]
                self._deadline.pop(key, None)

    def get(self, intent_id: str) -> TradeIntent | None:
        """An intent by id."""
        return self._intents.get(intent_id)

    def pending(self) -> list[TradeIntent]:
        """Pending intents, oldest first."""
        return [i for i in self._intents.values() if i.status is IntentStatus.PENDING]

    def _require_pending(self, intent_id: str, now: datetime) -> TradeIntent:
        intent = self._intents.get(intent_id)
        if intent is None:
            raise ApprovalError(f"no trade intent {intent_id!r}")
        if intent.status is IntentStatus.PENDING and self._lapsed(intent):
            self._intents[intent_id] = intent = replace(
                intent, status=IntentStatus.EXPIRED, reason="approval TTL passed"
            )
        if intent.status is not IntentStatus.PENDING:
            raise ApprovalError(f"intent {intent_id} is already {intent.status.value}")
        return intent

    def decide(
        self,
        intent_id: str,
        status: IntentStatus,
        reason: str,
        now: datetime,
        shares: Decimal | None = None,
    ) -> TradeIntent:
        """Move a pending intent to ``status`` (raises ApprovalError if not pending)."""
        intent = self._require_pending(intent_id, now)
        changes: dict[str, Any] = {"status": status, "reason": reason}
        if shares is not None and shares != intent.shares:
            changes["shares"] = shares
            changes["usd"] = usd(shares * intent.limit_price)
        decided = replace(intent, **changes)
        self._intents[intent_id] = decided
        self._deadline.pop(intent_id, None)
        return decided

    def revise(self, intent_id: str, now: datetime, **changes: Any) -> TradeIntent:
        """Change a pending intent's fields (size, advice), keeping its TTL and status."""
        intent = self._require_pending(intent_id, now)
        revised = replace(intent, **changes)
        self._intents[intent_id] = revised
        return revised

    def finish(self, intent_id: str, status: IntentStatus, reason: str) -> TradeIntent | None:
        """After execution: FILLED or FAILED (from APPROVED)."""
        intent = self._intents.get(intent_id)
        if intent is None or intent.status is not IntentStatus.APPROVED:
            return None
        done = replace(intent, status=status, reason=reason)
        self._intents[intent_id] = done
        return done

    def expire_due(self, now: datetime) -> list[TradeIntent]:
        """Expire every pending intent past its TTL (monotonic; ``now`` is not consulted)."""
        expired: list[TradeIntent] = []
        for intent in self.pending():
            if self._lapsed(intent):
                done = replace(intent, status=IntentStatus.EXPIRED, reason="approval TTL passed")
                self._intents[intent.id] = done
                self._deadline.pop(intent.id, None)
                expired.append(done)
        return expired

    def export(self) -> list[dict[str, Any]]:
        """Pending and approved intents, JSON-able."""
        keep = (IntentStatus.PENDING, IntentStatus.APPROVED)
        return [intent_to_record(i) for i in self._intents.values() if i.status in keep]

    def restore(self, records: list[dict[str, Any]], now: datetime) -> list[TradeIntent]:
        """Reload; pending intents past their TTL come back expired (returned)."""
        expired: list[TradeIntent] = []
        for raw in records:
            intent = intent_from_record(raw)
            if intent.status is IntentStatus.APPROVED:
                # Approved before a crash but never reported filled: the broker did not
                # confirm it, so it is not retried blindly.
                intent = replace(
                    intent, status=IntentStatus.FAILED, reason="interrupted by restart"
                )
            self._intents[intent.id] = intent
            if intent.status is IntentStatus.PENDING:
                # A new process has a new monotonic origin: what is left of the TTL comes from
                # the wall clock once, never more than the intent's own TTL.
                own = max(0.0, (intent.expires_at - intent.created_at).total_seconds())
                left = min(own, max(0.0, (intent.expires_at - now).total_seconds()))
                self._deadline[intent.id] = self.clock.monotonic() + left
        expired.extend(self.expire_due(now))
        return expired
