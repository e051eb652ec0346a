"""The interface every front end (TUI, control socket, one-shot CLI) uses to reach an engine.

The in-process ``Engine`` and the control-socket ``RemoteEngine`` both implement it, so the TUI
does not know whether it hosts the engine or is attached to a daemon.
"""

from __future__ import annotations

from typing import Any, Protocol

from polytui.bus import Subscription
from polytui.events import Snapshot
from polytui.model import CommandResult

# Commands an operator can send, with their arguments.
COMMANDS: dict[str, tuple[str, ...]] = {
    "approve": ("intent_id",),
    "reject": ("intent_id",),
    "pause": (),
    "resume": (),
    "kill": (),
    "close_position": ("token_id",),
    "reset_halt": (),
    "status": (),
}


class EngineAPI(Protocol):
    """Snapshot, live events and commands."""

    def snapshot(self) -> Snapshot:
        """Everything a client needs before the live stream."""
        ...

    def subscribe(self, maxsize: int = 10_000) -> Subscription:
        """A bounded subscription to every event from now on."""
        ...

    async def command(self, name: str, **args: Any) -> CommandResult:
        """Run one operator command (see ``COMMANDS``); never raises for bad input."""
        ...

    async def stop(self) -> None:
        """Stop a hosted engine cleanly (in-flight fills finish, the journal flushes)."""
        ...
