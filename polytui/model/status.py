"""How the console is doing: each feed's state and counters, the engine's flags, and the answer to
an operator command.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class FeedState(enum.StrEnum):
    """Connection state of one feed, as the health pane shows it."""

    CONNECTING = "connecting"
    LIVE = "live"
    DEGRADED = "degraded"
    DOWN = "down"
    DISABLED = "disabled"


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """Counters and flags of one feed. Reading it never touches the network."""

    name: str
    state: FeedState
    connected: bool
    last_data_age_s: float | None
    messages: int
    rejected: int
    reconnects: int
    connections: int
    latency_ms: float | None = None
    messages_per_s: float = 0.0
    detail: str = ""


@dataclass(frozen=True, slots=True)
class EngineState:
    """Top-level engine flags for the header."""

    mode: str
    paused: bool = False
    killed: bool = False
    halted: bool = False
    halt_reason: str = ""
    demo: bool = False


@dataclass(frozen=True, slots=True)
class CommandResult:
    """Answer to an operator command (keys, control socket, one-shot CLI)."""

    ok: bool
    message: str
    data: dict[str, object] = field(default_factory=dict)
