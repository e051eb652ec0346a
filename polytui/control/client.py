"""``RemoteEngine``: a running daemon as an :class:`polytui.api.EngineAPI`, over its socket."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from polytui import codec
from polytui import events as ev
from polytui.bus import EventBus, Subscription
from polytui.control.protocol import (
    DaemonUnavailable,
    Link,
    socket_answers,
    socket_path_for,
)
from polytui.model import (
    ZERO,
    CommandResult,
    EngineState,
    IntentStatus,
    PnLSnapshot,
    RiskSnapshot,
)

log = logging.getLogger(__name__)


def _empty_snapshot() -> ev.Snapshot:
    return ev.Snapshot(
        state=EngineState(mode="paper"),
        positions=(),
        intents=(),
        signals=(),
        pnl=PnLSnapshot(ZERO, ZERO, ZERO, ZERO, ZERO, ZERO),
        feeds=(),
        risk=RiskSnapshot(limits=()),
    )


def fold(snapshot: ev.Snapshot, event: ev.Event) -> ev.Snapshot:
    """``snapshot`` with one event applied, so a client's snapshot stays current."""
    if isinstance(event, ev.EngineStateChanged):
        return replace(snapshot, state=event.state)
    if isinstance(event, ev.PositionsChanged):
        return replace(snapshot, positions=event.positions)
    if isinstance(event, ev.PnLChanged):
        return replace(snapshot, pnl=event.pnl)
    if isinstance(event, ev.FeedStatusChanged):
        return replace(snapshot, feeds=event.feeds)
    if isinstance(event, ev.RiskChanged):
        return replace(snapshot, risk=event.risk)
    if isinstance(event, ev.IntentUpdated):
        others = tuple(i for i in snapshot.intents if i.id != event.intent.id)
        if event.intent.status is IntentStatus.PENDING:
            return replace(snapshot, intents=(*others, event.intent))
        return replace(snapshot, intents=others)
    if isinstance(event, ev.SignalUpdated):
        signals = list(snapshot.signals)
        for i, signal in enumerate(signals):
            if signal.id == event.signal.id:
                signals[i] = event.signal
                break
        else:
            signals.append(event.signal)
        return replace(snapshot, signals=tuple(signals[-ev.SIGNALS_KEPT :]))
    if isinstance(event, ev.Snapshot):
        return event
    return snapshot


class RemoteEngine:
    """The :class:`polytui.api.EngineAPI` of a daemon, over its control socket.

    ``connect()`` opens the link (or keeps trying in the background, saying so with a notice)
    and starts a reader that republishes the daemon's events on a local bus; ``run()`` lasts as
    long as the link is maintained. When the daemon goes away the reader reconnects with
    backoff, publishes a notice and then a fresh :class:`~polytui.events.Snapshot`. Closing the
    client never stops the daemon.
    """

    def __init__(
        self,
        socket_path: Path | str | None = None,
        *,
        command_timeout_s: float = 10.0,
        reconnect_initial_s: float = 0.2,
        reconnect_cap_s: float = 3.0,
    ) -> None:
        self.path = Path(socket_path) if socket_path else socket_path_for(None)
        self.bus = EventBus()
        self.command_timeout_s = command_timeout_s
        self.reconnect_initial_s = reconnect_initial_s
        self.reconnect_cap_s = reconnect_cap_s
        self.hello: dict[str, Any] = {}
        self.connected = False
        self.reconnects = 0
        self._snapshot = _empty_snapshot()
        self._link: Link | None = None
        self._pending: dict[int, asyncio.Future[CommandResult]] = {}
        self._ids = 0
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._connected_event: asyncio.Event | None = None

    @property
    def mode(self) -> str:
        """The daemon's trading mode."""
        return self._snapshot.state.mode

    # --- EngineAPI ----------------------------------------------------------------------------

    def snapshot(self) -> ev.Snapshot:
        """The daemon's snapshot, kept current by the event stream."""
        return self._snapshot

    def subscribe(self, maxsize: int = 10_000) -> Subscription:
        """A bounded subscription to the daemon's events (and this client's notices)."""
        return self.bus.subscribe(maxsize)

    async def command(self, name: str, **args: Any) -> CommandResult:
        """Send one command and wait for its answer; never raises."""
        link = self._link
        if not self.connected or link is None:
            return CommandResult(False, f"not connected to the daemon ({self.path}); retrying")
        self._ids += 1
        request_id = self._ids
        future: asyncio.Future[CommandResult] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            link.send({"id": request_id, "cmd": name, "args": args})
            return await asyncio.wait_for(future, self.command_timeout_s)
        except TimeoutError:
            return CommandResult(
                False,
                f"{name}: no answer from the daemon within {self.command_timeout_s:.0f} s; "
                "check `polytui status`",
            )
        except (ConnectionError, RuntimeError) as exc:
            return CommandResult(False, f"{name}: connection to the daemon failed ({exc})")
        finally:
            self._pending.pop(request_id, None)

    # --- lifecycle ----------------------------------------------------------------------------

    def probe(self) -> str | None:
        """Is a daemon listening? None if so, else a one-line reason (no event loop needed)."""
        start = "start one with `polytui --daemon`"
        if not self.path.exists():
            return f"no daemon is running (no socket at {self.path}); {start}"
        if not socket_answers(self.path):
            return f"no daemon is running (nothing listens on {self.path}); {start}"
        return None

    async def connect(self) -> None:
        """Open the link and start the reader; without a daemon, keep trying in the background."""
        if self._task is not None:
            return
        self._closing = False
        self._connected_event = asyncio.Event()
        try:
            await self._open()
        except DaemonUnavailable as exc:
            self._notice("warning", f"{exc}; retrying")
        self._task = asyncio.create_task(self._maintain(), name="control:client")

    async def wait_connected(self, timeout_s: float) -> bool:
        """Wait until the link is up (tests, and callers that must not act while reconnecting)."""
        if self.connected:
            return True
        if self._connected_event is None:
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected_event.wait(), timeout_s)
        return self.connected

    async def run(self) -> None:
        """Keep the link up until cancelled or closed (the console runs this as a worker)."""
        await self.connect()
        task = self._task
        try:
            if task is not None:
                await task
        finally:
            await self.close()

    async def close(self) -> None:
        """Disconnect; the daemon keeps running."""
        self._closing = True
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._drop_link("closed")

    # --- the link -----------------------------------------------------------------------------

    async def _open(self) -> None:
        link = await Link.open(self.path)
        try:
            snapshot = codec.decode_snapshot(link.snapshot_data)
        except codec.CodecError as exc:
            await link.close()
            raise DaemonUnavailable(f"the daemon's snapshot could not be read: {exc}") from None
        self._link = link
        self.hello = link.hello
        self._snapshot = snapshot
        self.connected = True
        if self._connected_event is not None:
            self._connected_event.set()

    async def _maintain(self) -> None:
        delay = self.reconnect_initial_s
        while not self._closing:
            if self._link is not None:
                reason = await self._read_until_closed(self._link)
                await self._drop_link(reason)
                if self._closing:
                    return
                self._notice("warning", f"lost the daemon ({reason}); reconnecting…")
                delay = self.reconnect_initial_s
            await asyncio.sleep(delay)
            try:
                await self._open()
            except DaemonUnavailable:
                delay = min(self.reconnect_cap_s, delay * 2)
                continue
            self.reconnects += 1
            self.bus.publish(self._snapshot)
            pid = self.hello.get("pid", "?")
            self._notice("info", f"reconnected to the daemon (pid {pid})")

    async def _read_until_closed(self, link: Link) -> str:
        """Dispatch messages until the link ends; returns why it ended."""
        while True:
            try:
                message = await link.read()
            except (ConnectionError, DaemonUnavailable) as exc:
                return str(exc)
            kind = message.get("type")
            if kind == "event":
                self._on_event(message)
            elif kind in ("result", "error"):
                self._on_answer(message)
            elif kind == "bye":
                return f"the daemon closed the connection: {message.get('reason', '')}"

    def _on_event(self, message: dict[str, Any]) -> None:
        try:
            event = codec.decode_event(str(message.get("event")), message.get("data"))
        except codec.CodecError as exc:
            log.warning("skipped an event from the daemon: %s", exc)
            return
        self._snapshot = fold(self._snapshot, event)
        if self._own_echo(event):
            return
        self.bus.publish(event)

    def _own_echo(self, event: ev.Event) -> bool:
        """The daemon tells every client of each command; this client's own are answered to it
        already (its console logs them itself)."""
        if not isinstance(event, ev.Notice) or event.component != "control":
            return False
        mine = self.hello.get("client")
        return mine is not None and event.fields.get("client") == str(mine)

    def _on_answer(self, message: dict[str, Any]) -> None:
        request_id = message.get("id")
        future = self._pending.get(request_id) if isinstance(request_id, int) else None
        if message.get("type") == "error":
            result = CommandResult(False, str(message.get("message", "error")))
        else:
            data = message.get("data")
            result = CommandResult(
                bool(message.get("ok")),
                str(message.get("message", "")),
                data if isinstance(data, dict) else {},
            )
        if future is None:
            if not result.ok:
                self._notice("warning", f"daemon: {result.message}")
            return
        if not future.done():
            future.set_result(result)

    async def _drop_link(self, reason: str) -> None:
        link, self._link = self._link, None
        self.connected = False
        if self._connected_event is not None:
            self._connected_event.clear()
        for future in self._pending.values():
            if not future.done():
                future.set_result(
                    CommandResult(
                        False,
                        "connection to the daemon lost before an answer; check `polytui status`",
                    )
                )
        if link is not None:
            await link.close()

    def _notice(self, level: str, message: str) -> None:
        self.bus.publish(ev.Notice(level, message, component="attach"))
