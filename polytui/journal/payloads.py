"""How a payload is written to the journal and how a row comes back.

Money is stored as decimal text and a float anywhere in a payload is refused, so binary rounding
can never reach the books. What each kind of record holds (an order, a fill, an intent) is
``polytui.model.records``: the one home of those shapes.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class JournalEvent:
    """One row of the append-only event log."""

    id: int
    ts: str
    kind: str
    ref: str
    payload: dict[str, Any]


def _plain(value: Any) -> Any:
    """JSON-ready form; Decimal → text; float refused (money must never be binary)."""
    if isinstance(value, float):
        raise TypeError(f"float {value!r} cannot be journaled; use Decimal or integer micro-units")
    if isinstance(value, Decimal):
        return format(value, "f")  # plain digits: 200, never 2E+2
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    raise TypeError(f"cannot journal a {type(value).__name__}")


def encode_payload(payload: Any) -> str:
    """Compact JSON text for a payload, refusing floats."""
    return json.dumps(_plain(payload), separators=(",", ":"), sort_keys=True)


def decode_payload(text: str) -> Any:
    """The payload ``encode_payload`` wrote (decimals come back as text)."""
    return json.loads(text)


def event_of(row: tuple[Any, ...]) -> JournalEvent:
    """A ``(id, ts, kind, ref, payload)`` row of ``events`` as a JournalEvent."""
    return JournalEvent(row[0], row[1], row[2], row[3], decode_payload(row[4]))
