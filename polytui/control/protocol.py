"""What both ends of the control socket share: limits, where the socket lives, peer
credentials, and one open connection past the daemon's hello and snapshot."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
from pathlib import Path
from typing import Any

import orjson

from polytui import codec
from polytui.api import COMMANDS

PROTOCOL_VERSION = 1
SOCKET_NAME = "polytui.sock"
# A request line longer than this is answered with an error and skipped.
MAX_REQUEST_BYTES = 64 * 1024
# What a client may read in one line from the daemon (a snapshot with 500 signals is large).
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
# Events waiting for one client before it counts as too slow and is dropped.
CLIENT_BACKLOG = 5_000
# A client whose socket cannot take our writes for this long is dropped.
SLOW_CLIENT_S = 5.0
# Bytes buffered for one client (answers it does not read) before it is dropped.
MAX_CLIENT_BUFFER = 4 * 1024 * 1024
MAX_CLIENTS = 32
# Past MAX_CLIENTS, connections still get a hello, a snapshot and answers (no event stream) in
# slots of their own, and each must send a request within COMMAND_IDLE_S of connecting or of its
# last answer: idle connections can fill the stream slots but never lock out `polytui kill`.
MAX_COMMAND_CLIENTS = 16
COMMAND_IDLE_S = 5.0
# sockaddr_un.sun_path holds 108 bytes including the terminating NUL.
MAX_SOCKET_PATH = 107

# One-shot exit codes.
EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_NO_DAEMON = 3
EXIT_BUSY = 4  # a daemon runs but cannot take this connection now (too many clients, no answer)


class ControlError(RuntimeError):
    """The control socket cannot be set up (the message says what to change)."""


class DaemonUnavailable(ConnectionError):
    """No daemon answers on the socket (the message says where it looked)."""


class DaemonBusy(DaemonUnavailable):
    """A daemon runs on the socket but cannot serve this connection now."""


def socket_path_for(settings: Any) -> Path:
    """``[daemon] socket_path``, else ``$XDG_RUNTIME_DIR/polytui/polytui.sock`` (or the data-dir
    fallback when there is no runtime dir)."""
    from polytui.config import runtime_dir

    configured = getattr(getattr(settings, "daemon", None), "socket_path", None)
    if configured:
        return Path(configured).expanduser()
    return runtime_dir(settings) / SOCKET_NAME


def peer_uid(sock: socket.socket | None) -> int | None:
    """The uid of the process at the other end of a Unix socket (Linux SO_PEERCRED)."""
    if sock is None or not hasattr(socket, "SO_PEERCRED"):
        return None
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return int(uid)


def peer_pid(sock: socket.socket | None) -> int | None:
    """The pid of the process at the other end of a Unix socket (Linux SO_PEERCRED)."""
    if sock is None or not hasattr(socket, "SO_PEERCRED"):
        return None
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, _uid, _gid = struct.unpack("3i", creds)
    return int(pid) or None


def process_name(pid: int | None) -> str:
    """A process's short name (``/proc/<pid>/comm``: at most 15 characters, never its
    arguments, which may hold anything), or "" when it cannot be read."""
    if pid is None:
        return ""
    try:
        return Path(f"/proc/{pid}/comm").read_text(errors="replace").strip()[:15]
    except OSError:
        return ""


def peer_label(sock: socket.socket | None) -> str:
    """``polytui, pid 14302``: who is at the other end, as other clients are told."""
    pid = peer_pid(sock)
    name = process_name(pid)
    return f"{name}, pid {pid}" if name else f"pid {pid or '?'}"


def socket_answers(path: Path) -> bool:
    """True when something accepts connections on the Unix socket ``path``."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(str(path))
    except OSError:
        return False
    finally:
        probe.close()
    return True


class Link:
    """One open connection to the daemon, past its hello and snapshot."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        hello: dict[str, Any],
        snapshot_data: Any,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.hello = hello
        self.snapshot_data = snapshot_data

    @classmethod
    async def open(cls, path: Path, timeout_s: float = 5.0) -> Link:
        """Connect and read the hello and the snapshot, or raise :class:`DaemonUnavailable`."""
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_unix_connection(str(path), limit=MAX_MESSAGE_BYTES), timeout_s
            )
        except FileNotFoundError:
            raise DaemonUnavailable(f"no daemon is running (no socket at {path})") from None
        except ConnectionRefusedError:
            raise DaemonUnavailable(
                f"no daemon is running (nothing listens on {path}; a stale socket)"
            ) from None
        except PermissionError:
            raise DaemonUnavailable(f"permission denied on {path}") from None
        except (BlockingIOError, TimeoutError):
            # Something listens but its accept queue stays full.
            raise DaemonBusy(
                f"the daemon is busy: it did not accept the connection within {timeout_s:.0f} s"
            ) from None
        except OSError as exc:
            raise DaemonUnavailable(f"cannot connect to {path}: {exc}") from None
        try:
            uid = peer_uid(writer.get_extra_info("socket"))
            if uid is not None and uid != os.getuid():
                raise DaemonUnavailable(f"{path} is served by another user (uid {uid}); refused")
            try:
                hello = await read_message(reader, timeout_s)
            except DaemonUnavailable:
                raise DaemonBusy(
                    f"the daemon is busy: it accepted but sent no hello within {timeout_s:.0f} s"
                ) from None
            if hello.get("type") == "error":
                message = str(hello.get("message"))
                kind = DaemonBusy if message.startswith("busy") else DaemonUnavailable
                raise kind(f"the daemon refused the connection: {message}")
            if hello.get("type") != "hello":
                raise DaemonUnavailable(f"{path} does not speak the polytui control protocol")
            if hello.get("protocol") != PROTOCOL_VERSION:
                raise DaemonUnavailable(
                    f"the daemon speaks control protocol {hello.get('protocol')}, this polytui "
                    f"speaks {PROTOCOL_VERSION}; run the same polytui version on both sides"
                )
            snapshot = await read_message(reader, timeout_s)
            if snapshot.get("type") != "snapshot":
                raise DaemonUnavailable("the daemon sent no snapshot after its hello")
        except BaseException:
            writer.close()
            raise
        return cls(reader, writer, hello, snapshot.get("data"))

    async def read(self) -> dict[str, Any]:
        """The next message (raises ConnectionError at EOF)."""
        return await read_message(self.reader, None)

    def send(self, obj: Any) -> None:
        """Write one request line."""
        self.writer.write(codec.dumps(obj))

    async def close(self) -> None:
        """Close the connection (the daemon keeps running)."""
        self.writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.writer.wait_closed(), 1)


async def read_message(reader: asyncio.StreamReader, timeout_s: float | None) -> dict[str, Any]:
    try:
        line = await asyncio.wait_for(reader.readline(), timeout_s)
    except TimeoutError:
        raise DaemonUnavailable("the daemon did not answer in time") from None
    except (ValueError, asyncio.LimitOverrunError):
        raise ConnectionError("the daemon sent an oversized line") from None
    if not line:
        raise ConnectionError("the daemon closed the connection")
    try:
        message = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise ConnectionError("the daemon sent a line that is not JSON") from None
    if not isinstance(message, dict):
        raise ConnectionError("the daemon sent a line that is not an object")
    return message


def parse_command(request: dict[str, Any]) -> tuple[str, str, dict[str, str]]:
    """(problem, name, args); problem is empty when the request can run."""
    name = request.get("cmd")
    if not isinstance(name, str) or not name:
        return 'missing "cmd" (a command name)', "", {}
    if name not in COMMANDS:
        return f"unknown command {name!r}; known: {', '.join(COMMANDS)}", name, {}
    args = request.get("args", {})
    if args is None:
        args = {}
    if not isinstance(args, dict):
        return f'{name}: "args" must be an object', name, {}
    wanted = COMMANDS[name]
    extra = sorted(set(args) - set(wanted))
    if extra:
        return f"{name}: unexpected argument {extra[0]!r}", name, {}
    missing = [a for a in wanted if a not in args]
    if missing:
        return f"{name}: missing argument {missing[0]!r}", name, {}
    for key in wanted:
        value = args[key]
        if not isinstance(value, str) or not value or len(value) > 200:
            return f"{name}: {key} must be a non-empty string", name, {}
    return "", name, {k: args[k] for k in wanted}
