"""The CLOB's dead-man switch: ``POST /v1/heartbeats``, and what happens when they stop.

Opt-in, per account (docs trading/manage-orders, api-reference/trade/send-heartbeat): once a
first heartbeat is accepted the CLOB expects the next within ``timeout_s`` (10 s); when none
comes, every open order of the account is cancelled and the session ends (a new one starts with
``{"heartbeat_id": ""}`` again). Each accepted heartbeat answers ``{"status": "ok",
"heartbeat_id": <id>}``, the id to send next; a heartbeat with another id is refused 400 with
the id the CLOB expects in ``heartbeat_id`` (the error text is this simulator's wording).
"""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import Any

from polytui.sim.exchange.rules import ApiError

HEARTBEAT_TIMEOUT_S = 10.0


class Heartbeats:
    """Heartbeat sessions by account address: (expected id, wall time of the last one)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.timeout_s = HEARTBEAT_TIMEOUT_S
        self.sessions: dict[str, tuple[str, float]] = {}
        self.accepted = 0
        self._counter = 0

    def beat(self, address: str, given: str) -> dict[str, Any]:
        """One heartbeat of ``address``; the reply, or the CLOB's refusal of a stale id."""
        key = address.lower()
        session = self.sessions.get(key)
        expected = session[0] if session is not None else ""
        if given != expected:
            raise ApiError(400, "Invalid heartbeat id", extra={"heartbeat_id": expected})
        if session is None:
            self._counter += 1
            digest = hashlib.sha256(f"hb:{self.seed}:{key}:{self._counter}".encode()).digest()
            expected = str(uuid.UUID(bytes=digest[:16], version=4))
        self.sessions[key] = (expected, time.time())
        self.accepted += 1
        return {"status": "ok", "heartbeat_id": expected}

    def expired(self, now: float | None = None) -> list[str]:
        """Accounts whose heartbeats stopped; their sessions end here."""
        now = time.time() if now is None else now
        gone = [a for a, (_, last) in self.sessions.items() if now - last > self.timeout_s]
        for address in gone:
            del self.sessions[address]
        return gone
