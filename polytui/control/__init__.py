"""The control socket: a Unix-socket server in the daemon, and its clients.

Protocol (JSON lines, UTF-8, one object per line; PROTOCOL_VERSION below):

* server → client, on connect: ``{"type": "hello", "protocol": 1, "pid": …, "mode": …, …}``,
  then ``{"type": "snapshot", "data": <Snapshot>}``, then the live stream
  ``{"type": "event", "event": "<class name>", "data": {…}}`` (see ``polytui.events``;
  money as decimal strings, times ISO-8601 UTC, encoded by ``polytui.codec``).
* client → server: ``{"id": 7, "cmd": "approve", "args": {"intent_id": "int-1a2b3c4d"}}`` with a
  command from ``polytui.api.COMMANDS``. Each request is answered once, carrying its ``id``:
  ``{"type": "result", "id": 7, "ok": true, "message": "…", "data": {…}}`` when the engine ran
  it, or ``{"type": "error", "id": 7, "message": "…"}`` when it could not be run (bad JSON,
  oversized line, unknown command, bad arguments; ``id`` is null when the line had none).
* ``{"type": "bye", "reason": "…"}`` before the server closes a connection (daemon stopping,
  client too slow).

Security: the socket lives in a 0700 directory (``$XDG_RUNTIME_DIR/polytui`` by default), is
created with mode 0600, and a peer whose uid (SO_PEERCRED) is not the daemon's is refused.

A client never slows the engine: each one reads the bus through its own bounded subscription,
and a client that falls behind (its backlog overflowed or a write could not drain in
``slow_client_s``) is told why and disconnected. ``RemoteEngine`` (what ``polytui attach`` runs)
reconnects by itself, so a slow console resynchronises from a fresh snapshot.
"""

from polytui.control.client import RemoteEngine, fold
from polytui.control.oneshot import one_shot, status_document, status_text
from polytui.control.protocol import (
    PROTOCOL_VERSION,
    ControlError,
    DaemonBusy,
    DaemonUnavailable,
    socket_path_for,
)
from polytui.control.server import ControlServer

__all__ = [
    "PROTOCOL_VERSION",
    "ControlError",
    "ControlServer",
    "DaemonBusy",
    "DaemonUnavailable",
    "RemoteEngine",
    "fold",
    "one_shot",
    "socket_path_for",
    "status_document",
    "status_text",
]
