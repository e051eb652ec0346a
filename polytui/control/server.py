"""The daemon's side of the control socket: accepts clients, streams the engine to them,
runs their commands, and drops any client that falls behind or breaks the protocol."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import stat
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import orjson

from polytui import __version__, codec
from polytui import events as ev
from polytui.bus import Subscription
from polytui.control.protocol import (
    CLIENT_BACKLOG,
    COMMAND_IDLE_S,
    MAX_CLIENT_BUFFER,
    MAX_CLIENTS,
    MAX_COMMAND_CLIENTS,
    MAX_REQUEST_BYTES,
    MAX_SOCKET_PATH,
    PROTOCOL_VERSION,
    SLOW_CLIENT_S,
    ControlError,
    parse_command,
    peer_label,
    peer_uid,
    socket_answers,
)

log = logging.getLogger(__name__)

# Requests that arrived together and are answered from one journal commit; bounds how long one
# client's flood holds the loop (~0.1-0.5 ms of engine work per command).
COMMANDS_PER_COMMIT = 100


class _Client:
    """One connected client: its writer, its bus subscription and why it was dropped."""

    def __init__(self, number: int, writer: asyncio.StreamWriter, sub: Subscription | None) -> None:
        self.number = number
        self.writer = writer
        self.who = peer_label(writer.get_extra_info("socket"))  # for the other clients' logs
        self.sub = sub  # None: a command connection (answers only, no event stream)
        self.closed = False
        self.sent_events = 0

    def send(self, obj: Any) -> bool:
        """Queue one line on the socket; False once the client is closed or over its buffer."""
        if self.closed:
            return False
        self.writer.write(codec.dumps(obj))
        if self.writer.transport.get_write_buffer_size() > MAX_CLIENT_BUFFER:
            self.drop("too slow: it is not reading its answers")
            return False
        return True

    def drop(self, reason: str) -> None:
        """Say why (when the socket can take it) and close."""
        if self.closed:
            return
        self.closed = True
        if self.sub is not None:
            self.sub.close()
        transport = self.writer.transport
        if transport.is_closing():
            return
        if transport.get_write_buffer_size() > MAX_CLIENT_BUFFER:
            transport.abort()
            return
        with contextlib.suppress(Exception):
            self.writer.write(codec.dumps({"type": "bye", "reason": reason}))
        self.writer.close()


class ControlServer:
    """Serves the engine's snapshot, events and commands on a Unix socket."""

    def __init__(
        self,
        engine: Any,
        path: Path,
        *,
        info: dict[str, Any] | None = None,
        backlog: int = CLIENT_BACKLOG,
        slow_client_s: float = SLOW_CLIENT_S,
    ) -> None:
        self.engine = engine
        self.path = Path(path)
        self.info = dict(info or {})
        self.backlog = backlog
        self.slow_client_s = slow_client_s
        self.started_at = time.monotonic()
        self._server: asyncio.AbstractServer | None = None
        self._inode: int | None = None
        self._clients: set[_Client] = set()
        self._command_clients: set[_Client] = set()
        self.command_idle_s = COMMAND_IDLE_S
        self._tasks: set[asyncio.Task[None]] = set()
        self._numbers = 0
        self.dropped_clients = 0
        # Set when the daemon begins to stop: commands are refused, the stream goes on.
        self.stopping = False

    @property
    def clients(self) -> int:
        """Connected clients."""
        return len(self._clients)

    async def start(self) -> None:
        """Create the 0700 directory and the 0600 socket, and start accepting."""
        path = self.path
        if len(os.fsencode(path)) > MAX_SOCKET_PATH:
            raise ControlError(
                f"socket path {path} is too long for a Unix socket ({len(os.fsencode(path))} "
                f"bytes, at most {MAX_SOCKET_PATH}); set [daemon] socket_path to a shorter path"
            )
        _prepare_directory(path.parent)
        if path.exists() or path.is_symlink():
            if not stat.S_ISSOCK(path.lstat().st_mode):
                raise ControlError(f"{path} exists and is not a socket; remove it or move it")
            if socket_answers(path):
                raise ControlError(
                    f"another process is listening on {path}; is a daemon with a different data "
                    "dir running? give this one its own [daemon] socket_path"
                )
            path.unlink()  # left behind by a daemon that was killed
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # The umask makes the socket 0600 from its first instant, not after a chmod.
        old_umask = os.umask(0o177)
        try:
            sock.bind(str(path))
        except OSError as exc:
            sock.close()
            raise ControlError(f"cannot create the control socket {path}: {exc.strerror}") from None
        finally:
            os.umask(old_umask)
        os.chmod(path, 0o600)
        self._inode = path.stat().st_ino
        sock.listen(MAX_CLIENTS)
        sock.setblocking(False)
        self._server = await asyncio.start_unix_server(self._serve, sock=sock)
        log.info(
            "control socket listening on %s",
            path,
            extra={"event": "socket_listening", "fields": {"path": str(path)}},
        )

    async def close(self, reason: str = "daemon stopping") -> None:
        """Stop accepting, say goodbye to every client, remove the socket file."""
        if self._server is not None:
            self._server.close()
        for client in [*self._clients, *self._command_clients]:
            client.drop(reason)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=2)
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None
        # Remove the file only if it is still ours (a newer daemon may have replaced it).
        with contextlib.suppress(OSError):
            if self._inode is not None and self.path.stat().st_ino == self._inode:
                self.path.unlink()

    # --- one connection -----------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._serve_client(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass  # close() cancels it; ending normally keeps 3.11's stream callback quiet
        except Exception:  # one client's trouble must never reach the daemon
            log.exception("control client failed")
        finally:
            if task is not None:
                self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _serve_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        uid = peer_uid(writer.get_extra_info("socket"))
        if uid is not None and uid != os.getuid():
            log.warning(
                "refused a control connection from uid %s",
                uid,
                extra={"event": "client_refused", "fields": {"uid": uid}},
            )
            writer.write(
                codec.dumps(
                    {"type": "error", "id": None, "message": "refused: not the daemon's user"}
                )
            )
            return
        if len(self._clients) >= MAX_CLIENTS:
            await self._serve_commands_only(reader, writer)
            return
        self._numbers += 1
        # Subscribe before the snapshot so nothing published in between is lost; an event the
        # snapshot already holds is harmless (every update is keyed on the client side).
        client = _Client(self._numbers, writer, self.engine.subscribe(self.backlog))
        self._clients.add(client)
        log.info(
            "control client %d connected (%d attached)",
            client.number,
            len(self._clients),
            extra={"event": "client_connected", "fields": {"client": client.number}},
        )
        sender = asyncio.create_task(
            self._send_events(client), name=f"control:send:{client.number}"
        )
        try:
            client.send({**self._hello(), "client": client.number})
            client.send({"type": "snapshot", "data": self.engine.snapshot()})
            await self._read_requests(reader, client)
        finally:
            # Closing the subscription wakes the sender, which then sees ``closed``; a cancel
            # alone can be swallowed by wait_for on 3.11 when a drain finishes at that moment.
            client.closed = True
            if client.sub is not None:
                client.sub.close()
            sender.cancel()
            await asyncio.wait({sender}, timeout=2)
            if sender.done() and not sender.cancelled() and sender.exception() is not None:
                log.warning(
                    "control client %d: sending failed: %r",
                    client.number,
                    sender.exception(),
                    extra={"event": "client_send_failed", "fields": {"client": client.number}},
                )
            self._clients.discard(client)
            log.info(
                "control client %d disconnected (%d attached)",
                client.number,
                len(self._clients),
                extra={"event": "client_disconnected", "fields": {"client": client.number}},
            )

    async def _serve_commands_only(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Every stream slot is taken: answer commands, without events, while requests come.

        A connection that sends nothing for ``command_idle_s`` is closed, so connections that
        never speak cannot keep the operator from ``status``, ``pause`` or ``kill``.
        """
        if len(self._command_clients) >= MAX_COMMAND_CLIENTS:
            message = (
                f"busy: too many clients (at most {MAX_CLIENTS} attached and "
                f"{MAX_COMMAND_CLIENTS} waiting to send a command); try again"
            )
            writer.write(codec.dumps({"type": "error", "id": None, "message": message}))
            return
        self._numbers += 1
        client = _Client(self._numbers, writer, None)
        self._command_clients.add(client)
        try:
            client.send({**self._hello(), "events": False, "client": client.number})
            client.send({"type": "snapshot", "data": self.engine.snapshot()})
            await self._read_requests(reader, client, idle_s=self.command_idle_s)
        finally:
            client.closed = True
            self._command_clients.discard(client)

    def _hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "protocol": PROTOCOL_VERSION,
            "version": __version__,
            "pid": os.getpid(),
            "mode": getattr(self.engine, "mode", "paper"),
            **self.info,
        }

    async def _send_events(self, client: _Client) -> None:
        """Forward the client's subscription in batches; drop it when it falls behind."""
        writer, sub = client.writer, client.sub
        if sub is None:
            return
        while not client.closed:
            events = await sub.wait()
            if client.closed:
                return
            if sub.dropped:
                self._drop(client, f"too slow: {sub.dropped} events were dropped")
                return
            chunks = []
            for event in events:
                try:
                    chunks.append(codec.dumps(codec.encode_event(event)))
                except TypeError:
                    log.exception("cannot encode %s for the control socket", type(event).__name__)
            if not chunks or client.closed:
                continue
            try:
                writer.write(b"".join(chunks))
                client.sent_events += len(chunks)
                await asyncio.wait_for(writer.drain(), self.slow_client_s)
            except TimeoutError:
                self._drop(client, f"too slow: writes blocked for {self.slow_client_s:.0f} s")
                return
            except ConnectionError:  # the client hung up: its reader ends the connection
                client.closed = True
                return

    def _drop(self, client: _Client, reason: str) -> None:
        self.dropped_clients += 1
        log.warning(
            "dropped control client %d: %s",
            client.number,
            reason,
            extra={"event": "client_dropped", "fields": {"client": client.number}},
        )
        client.drop(reason)

    async def _read_requests(
        self, reader: asyncio.StreamReader, client: _Client, idle_s: float | None = None
    ) -> None:
        """Split the byte stream into lines; an oversized line is answered and skipped whole.

        With ``idle_s``, a client that sends nothing for that long is told so and closed.
        """
        buffer = bytearray()
        skipping = False  # inside an oversized line, waiting for its newline
        while not client.closed:
            try:
                chunk = await asyncio.wait_for(reader.read(65536), idle_s)
            except TimeoutError:
                client.drop(f"idle: no request within {idle_s:.0f} s")
                return
            if not chunk:
                return
            buffer += chunk
            batch: list[Coroutine[Any, Any, dict[str, Any] | None]] = []
            while True:
                newline = buffer.find(b"\n")
                if newline < 0:
                    if len(buffer) > MAX_REQUEST_BYTES:
                        if not skipping:
                            batch.append(_answer(_error_reply(None, _too_long())))
                        skipping = True
                        buffer.clear()
                    break
                line = bytes(buffer[:newline])
                del buffer[: newline + 1]
                if skipping:
                    skipping = False
                    continue
                if len(line) > MAX_REQUEST_BYTES:
                    batch.append(_answer(_error_reply(None, _too_long())))
                    continue
                batch.append(self._handle_line(line, client))
            await self._answer_batch(batch, client)

    async def _answer_batch(
        self, batch: list[Coroutine[Any, Any, dict[str, Any] | None]], client: _Client
    ) -> None:
        """Run the requests that arrived together at once and answer them in request order.

        Each acknowledgement is durable before it is sent, but requests read together share a
        group commit of the journal, up to ``COMMANDS_PER_COMMIT`` at a time: a flood of
        pause/resume from one script costs one fsync per slice, not one per command, and the
        loop is never held for more than one slice's work. They start in the order they were
        sent and each changes the engine's state before its first wait, so their effect is that
        order too.
        """
        for start in range(0, len(batch), COMMANDS_PER_COMMIT):
            replies = await asyncio.gather(*batch[start : start + COMMANDS_PER_COMMIT])
            for reply in replies:
                if reply is not None and not client.closed:
                    client.send(reply)

    async def _handle_line(self, line: bytes, client: _Client) -> dict[str, Any] | None:
        """The reply to one request line (None for a blank line)."""
        line = line.strip()
        if not line:
            return None
        try:
            request = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            return _error_reply(None, f"bad JSON: {exc}")
        if not isinstance(request, dict):
            return _error_reply(None, 'a request is a JSON object: {"id": 1, "cmd": "status"}')
        request_id = request.get("id")
        if request_id is not None and (
            isinstance(request_id, bool) or not isinstance(request_id, int | str)
        ):
            return _error_reply(None, "id must be a number or a string")
        problem, name, args = parse_command(request)
        if problem:
            return _error_reply(request_id, problem)
        if self.stopping and name != "status":
            return _error_reply(request_id, "the daemon is stopping; commands are refused")
        try:
            result = await self.engine.command(name, **args)
        except Exception:  # the engine answers bad input itself; this is a bug, not the client's
            log.exception("command %s failed", name)
            return _error_reply(request_id, f"{name} failed inside the daemon; see its log")
        data = dict(result.data)
        if name == "status":
            data.update(self._status_data())
        if name != "status":  # it changes nothing
            self._tell_the_others(client, name, result)
        log.info(
            "command %s from client %d: %s",
            name,
            client.number,
            result.message,
            extra={
                "event": "command",
                "fields": {"command": name, **args, "ok": result.ok, "client": client.number},
            },
        )
        return {
            "type": "result",
            "id": request_id,
            "ok": result.ok,
            "message": result.message,
            "data": data,
        }

    def _tell_the_others(self, client: _Client, name: str, result: Any) -> None:
        """Tell every attached console who did what (the sender drops its own echo)."""
        bus = getattr(self.engine, "bus", None)
        if bus is None:
            return
        outcome = f": {result.message}" if result.ok else f", refused: {result.message}"
        bus.publish(
            ev.Notice(
                "info" if result.ok else "warning",
                f"another client ({client.who}) sent {name}{outcome}",
                component="control",
                fields={"client": str(client.number), "command": name},
            )
        )

    def _status_data(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            # Besides the one asking.
            "clients": max(0, len(self._clients) + len(self._command_clients) - 1),
            "uptime_s": round(time.monotonic() - self.started_at, 1),
            "socket": str(self.path),
            **self.info,
        }


def _error_reply(request_id: Any, message: str) -> dict[str, Any]:
    return {"type": "error", "id": request_id, "message": message}


async def _answer(reply: dict[str, Any]) -> dict[str, Any]:
    """A reply known without asking the engine, kept in its place among the batch's answers."""
    return reply


def _too_long() -> str:
    return f"line longer than {MAX_REQUEST_BYTES} bytes; ignored"


def _prepare_directory(directory: Path) -> None:
    """Create the socket's directory 0700; refuse one that belongs to someone else."""
    created = not directory.exists()
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = directory.stat()
    except OSError as exc:
        raise ControlError(f"cannot create {directory}: {exc.strerror}") from None
    if info.st_uid != os.getuid():
        raise ControlError(f"{directory} belongs to another user; the control socket needs its own")
    # Only a directory this process created is chmod'ed: an existing one (even one named
    # like ours, perhaps through a planted symlink) keeps its mode and is warned about.
    if created and stat.S_IMODE(info.st_mode) != 0o700:
        os.chmod(directory, 0o700)
    elif stat.S_IMODE(info.st_mode) & 0o022:
        log.warning(
            "%s is writable by others; the socket is still 0600 and checks its peers",
            directory,
            extra={"event": "socket_dir_open"},
        )
