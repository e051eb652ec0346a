"""The one reconnect loop every WebSocket feed uses.

Behaviour shared by every feed: exponential backoff with full jitter between attempts;
subscription messages re-sent on every (re)connect; an application-level text keepalive
(``PING``: CLOB every 10 s, RTDS every 5 s — PROTOCOL.md §1, §1c); and a data-silence watchdog
that tears the connection down when no *data* frame arrived for ``silence_s`` (keepalive
answers such as ``PONG`` or ``""`` are not data). The old connection is always closed before a
new one opens, so a feed never holds more than one. ``status()`` reads counters only; it never
touches the network.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from polytui.model import FeedState, FeedStatus

log = logging.getLogger(__name__)

KEEPALIVE_REPLIES = frozenset({"PONG", "pong", "", "{}"})
MAX_REJECT_KINDS = 64


class WsFeed:
    """A resilient WebSocket client that hands each text frame to ``on_frame``."""

    def __init__(
        self,
        name: str,
        url: str,
        *,
        on_frame: Callable[[str], None],
        subscribe_messages: Callable[[], list[str]] = list,
        ping_interval_s: float = 10.0,
        ping_text: str = "PING",
        silence_s: float = 60.0,
        backoff_initial_s: float = 0.5,
        backoff_cap_s: float = 30.0,
        open_timeout_s: float = 10.0,
        max_frame_bytes: int = 8 * 1024 * 1024,
        on_connect: Callable[[], None] | None = None,
        on_disconnect: Callable[[], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        tap: Callable[[str], None] | None = None,
        redacted_url: str | None = None,
        expect_data: Callable[[], bool] = lambda: True,
        quiet_retry_max_s: float | None = None,
    ) -> None:
        self.name = name
        self.url = url
        self.on_frame = on_frame
        self.subscribe_messages = subscribe_messages
        self.ping_interval_s = ping_interval_s
        self.ping_text = ping_text
        self.silence_s = silence_s
        self.backoff_initial_s = backoff_initial_s
        self.backoff_cap_s = backoff_cap_s
        self.open_timeout_s = open_timeout_s
        self.max_frame_bytes = max_frame_bytes
        self.on_connect = on_connect
        self.on_disconnect = on_disconnect
        self.monotonic = monotonic
        self.tap = tap
        self.display_url = redacted_url or url
        # A feed with nothing subscribed legitimately receives nothing; silence is only a fault
        # while data is expected.
        self.expect_data = expect_data
        # A source that may stop for good (RTDS activity/trades): after two connections in a row
        # that brought no data, the next try waits silence_s × 2^(n−1), at most this long,
        # instead of reconnecting every silence_s for ever. None: the normal backoff only.
        self.quiet_retry_max_s = quiet_retry_max_s
        self.quiet_sessions = 0
        self._session_data = 0
        # counters
        self.messages = 0
        self.rejected = 0
        self.reconnects = 0
        self.connections = 0
        self.max_connections_seen = 0
        self.last_data_at: float | None = None
        self.latency_ms: float | None = None
        self.state = FeedState.CONNECTING
        self.detail = ""
        self._rejected_kinds: set[str] = set()
        self._recent: deque[float] = deque(maxlen=2048)
        self._ws: Any = None
        self._stopping = False
        self._attempt = 0

    # --- public ---------------------------------------------------------------------------------

    async def run(self) -> None:
        """Connect, read, reconnect — until ``stop()``. Never raises but CancelledError."""
        import websockets

        self._stopping = False
        while not self._stopping:
            try:
                await self._session(websockets)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure of one session means: back off, reconnect
                self.detail = f"{self.name}: {self.display_url}: {type(exc).__name__}: {exc}"[:300]
                log.info("%s disconnected: %s", self.name, self.detail)
            finally:
                await self._close()
            if self._stopping:
                break
            self.state = FeedState.DOWN if self._attempt >= 3 else FeedState.DEGRADED
            self.reconnects += 1
            delay = max(self._backoff(), self._quiet_delay())
            await asyncio.sleep(delay)
        self.state = FeedState.DOWN

    async def stop(self) -> None:
        """Close the connection and end ``run()``."""
        self._stopping = True
        await self._close()

    async def send(self, text: str) -> bool:
        """Send on the live connection; False if not connected (resubscribe covers it)."""
        ws = self._ws
        if ws is None:
            return False
        try:
            await ws.send(text)
        except Exception:
            return False
        return True

    def send_soon(self, text: str) -> None:
        """Schedule ``send`` from synchronous code."""
        if self._ws is not None:
            with contextlib.suppress(RuntimeError):
                asyncio.get_running_loop().create_task(self.send(text))

    def count_rejected(self, kind: str, sample: str) -> None:
        """Count a dropped frame; log the first of each kind with a sample."""
        self.rejected += 1
        # Kinds can carry wire text (an unknown event type): a bounded set, so a garbage stream
        # can neither grow memory nor flood the log.
        if kind not in self._rejected_kinds and len(self._rejected_kinds) < MAX_REJECT_KINDS:
            self._rejected_kinds.add(kind)
            log.warning("%s: dropped %s frame, e.g. %.200r", self.name, kind, sample)

    def note_latency(self, ms: float) -> None:
        """Record a frame's exchange-timestamp-to-receipt delay."""
        if ms >= 0:
            self.latency_ms = ms if self.latency_ms is None else 0.8 * self.latency_ms + 0.2 * ms

    @property
    def connected(self) -> bool:
        """True while a connection is open and subscribed."""
        return self._ws is not None and self.state is FeedState.LIVE

    def status(self) -> FeedStatus:
        """Counters and flags; no I/O."""
        now = self.monotonic()
        age = None if self.last_data_at is None else now - self.last_data_at
        while self._recent and now - self._recent[0] > 5.0:
            self._recent.popleft()
        state = self.state
        if state is FeedState.LIVE and age is not None and age > self.silence_s / 2:
            state = FeedState.DEGRADED
        return FeedStatus(
            name=self.name,
            state=state,
            connected=self.connected,
            last_data_age_s=age,
            messages=self.messages,
            rejected=self.rejected,
            reconnects=self.reconnects,
            connections=self.connections,
            latency_ms=self.latency_ms,
            messages_per_s=len(self._recent) / 5.0,
            detail=self.detail,
        )

    # --- internals ------------------------------------------------------------------------------

    def _quiet_delay(self) -> float:
        """The wait after a run of connections that brought no data (0 when not quiet)."""
        if self.quiet_retry_max_s is None or self.quiet_sessions < 2:
            return 0.0
        exponent = min(self.quiet_sessions - 1, 30)
        delay = min(self.quiet_retry_max_s, self.silence_s * 2**exponent)
        self.state = FeedState.DOWN
        self.detail = (
            f"{self.name}: no data on {self.quiet_sessions} connections in a row; "
            f"next try in {delay:.0f} s"
        )
        log.info("%s", self.detail)
        return delay

    def _backoff(self) -> float:
        self._attempt += 1
        # Capped exponent: after ~1,000 failed attempts 2**n overflowed the float and run() died.
        exponent = min(self._attempt - 1, 30)
        ceiling = min(self.backoff_cap_s, self.backoff_initial_s * 2**exponent)
        return random.uniform(0, ceiling)  # full jitter

    async def _close(self) -> None:
        ws, self._ws = self._ws, None
        if ws is None:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(), timeout=2)
        self.connections -= 1
        if self.on_disconnect is not None:
            self.on_disconnect()

    async def _session(self, websockets: Any) -> None:
        self.state = FeedState.CONNECTING
        ws = await asyncio.wait_for(
            websockets.connect(
                self.url,
                max_size=self.max_frame_bytes,
                ping_interval=None,  # the application keepalive below is what servers expect
                open_timeout=self.open_timeout_s,
                close_timeout=2,
            ),
            timeout=self.open_timeout_s + 1,
        )
        self._ws = ws
        self._session_data = 0
        opened_at = self.monotonic()
        self.connections += 1
        self.max_connections_seen = max(self.max_connections_seen, self.connections)
        for message in self.subscribe_messages():
            await ws.send(message)
        self.state = FeedState.LIVE
        self.detail = ""
        # Silence is measured from the connect, so a server that never sends trips it too.
        self.last_data_at = self.monotonic()
        if self.on_connect is not None:
            self.on_connect()
        pinger = asyncio.create_task(self._keepalive(ws))
        try:
            await self._read(ws)
        finally:
            pinger.cancel()
            # Quiet means a whole silence window without data. A connection the server or the
            # network closed sooner says nothing about the topic: the count stays as it was.
            if self._session_data:
                self.quiet_sessions = 0
            elif self.monotonic() - opened_at >= self.silence_s:
                self.quiet_sessions += 1
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pinger

    async def _keepalive(self, ws: Any) -> None:
        while True:
            await asyncio.sleep(self.ping_interval_s)
            await ws.send(self.ping_text)

    async def _read(self, ws: Any) -> None:
        while True:
            assert self.last_data_at is not None
            if not self.expect_data():
                self.last_data_at = self.monotonic()
            left = self.silence_s - (self.monotonic() - self.last_data_at)
            if left <= 0:
                raise TimeoutError(f"no data for {self.silence_s:g} s")
            try:
                frame = await asyncio.wait_for(ws.recv(), timeout=left)
            except TimeoutError:
                if not self.expect_data():
                    continue
                raise TimeoutError(f"no data for {self.silence_s:g} s") from None
            if isinstance(frame, bytes):
                try:
                    frame = frame.decode()
                except UnicodeDecodeError:
                    self.count_rejected("binary", repr(frame[:40]))
                    continue
            if self.tap is not None:
                self.tap(frame)
            if frame.strip() in KEEPALIVE_REPLIES:
                continue
            now = self.monotonic()
            self.last_data_at = now
            self._recent.append(now)
            self.messages += 1
            self._session_data += 1
            self._attempt = 0
            try:
                self.on_frame(frame)
            except Exception as exc:  # a parser bug must not kill the feed
                self.count_rejected(f"handler error {type(exc).__name__}", frame)
