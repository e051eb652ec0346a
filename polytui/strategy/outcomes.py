"""What the strategy answers with: results, journal records and their shapes. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from polytui.model import Signal, TradeIntent

Record = tuple[str, str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class StrategyResult:
    """The signal made from a trade, the intent if one was sized, and what to journal."""

    signal: Signal
    intent: TradeIntent | None
    journal_records: list[Record] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Outcome:
    """Answer to approve / reject."""

    ok: bool
    message: str
    intent: TradeIntent | None = None
    journal_records: list[Record] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class KillResult:
    """Intents rejected by the kill switch."""

    intents: list[TradeIntent]
    journal_records: list[Record]


def decision_record(intent: TradeIntent, action: str) -> Record:
    """The journal record of a decision on ``intent``."""
    return (
        "decision",
        intent.id,
        {
            "intent_id": intent.id,
            "action": action,
            "status": intent.status.value,
            "reason": intent.reason,
            "shares": intent.shares,
        },
    )
