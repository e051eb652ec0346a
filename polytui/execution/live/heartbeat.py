"""The dead-man switch: ``POST /v1/heartbeats`` while the live broker runs.

Opt-in on the CLOB's side (docs trading/manage-orders): once a first heartbeat is accepted, the
CLOB expects the next within 10 s, and when none comes it cancels **every open order of the
account**. So a resting exit never outlives a crashed, killed or disconnected console by more
than about 10 s. Sent every ``live.heartbeat_s`` (5 s) from the moment the start-up checks pass
until the broker closes; 0 turns it off (then a resting GTC exit stays on the book after a
crash until something cancels it — use GTD exits).

The body is ``{"heartbeat_id": ""}`` first, then the id the last answer gave. A refusal that
names the id the CLOB expects (a stale id, say after a restart of either side) is answered at
once with that id. A heartbeat that fails is logged (first failure, then recovery) and the next
one is sent on schedule: nothing here stops trading.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import httpx

from polytui.execution.live.clob_rest import ClobRest, error_of, json_or_none
from polytui.execution.live.errors import LiveError, plain_error

log = logging.getLogger(__name__)

HEARTBEATS = "/v1/heartbeats"


class Heartbeat:
    """One account's heartbeat loop."""

    def __init__(self, clob: ClobRest, interval_s: float, timeout_s: float) -> None:
        self.clob = clob
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.heartbeat_id = ""
        self.accepted = 0
        self.failing = False
        self.task: asyncio.Task[None] | None = None

    async def beat(self) -> bool:
        """One heartbeat (and, if refused with the id the CLOB expects, one more with it)."""
        for _ in range(2):
            response = await self.clob.request(
                "POST", HEARTBEATS, body={"heartbeat_id": self.heartbeat_id}, timeout=self.timeout_s
            )
            data: Any = json_or_none(response)
            data = data if isinstance(data, dict) else {}
            if response.status_code == 200:
                self.heartbeat_id = str(data.get("heartbeat_id") or self.heartbeat_id)
                self.accepted += 1
                return True
            expected = data.get("heartbeat_id")
            if response.status_code != 400 or expected is None or expected == self.heartbeat_id:
                raise LiveError(f"HTTP {response.status_code}: {error_of(response)}")
            self.heartbeat_id = str(expected)
        return False

    async def run(self) -> None:
        """Beat every ``interval_s`` until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            try:
                ok = await self.beat()
            except (httpx.HTTPError, LiveError, ValueError) as exc:
                ok = False
                if not self.failing:
                    log.warning(
                        "heartbeat failed (the CLOB cancels every open order of the account "
                        "after 10 s without one): %s",
                        plain_error(exc),
                    )
            if ok and self.failing:
                log.warning("heartbeat recovered")
            self.failing = not ok
            await asyncio.sleep(max(0.0, self.interval_s - (loop.time() - started)))

    def start(self) -> None:
        """Start the loop (once)."""
        if self.task is None and self.interval_s > 0:
            self.task = asyncio.create_task(self.run(), name="clob-heartbeat")

    async def stop(self) -> None:
        """Stop beating; the CLOB cancels the account's open orders about 10 s later."""
        task, self.task = self.task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
