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


def polled_status(
    name: str,
    *,
    started: bool,
    detail: str,
    last_ok_age_s: float | None,
    messages: int,
    rejected: int,
    errors: int,
) -> FeedStatus:
    """The health row of a source that asks over HTTP rather than holding a socket: connecting
    until its first round, degraded while ``detail`` says what failed last, live otherwise."""
    state = FeedState.DEGRADED if detail else FeedState.LIVE
    return FeedStatus(
        name=name,
        state=state if started else FeedState.CONNECTING,
        connected=not detail,
        last_data_age_s=last_ok_age_s,
        messages=messages,
        rejected=rejected,
        reconnects=errors,
        connections=0,
        detail=detail,
    )


def idle_status(name: str) -> FeedStatus:
    """The health row of a wallet-driven source while no wallet is watched: nothing to ask."""
    return FeedStatus(
        name=name,
        state=FeedState.DISABLED,
        connected=False,
        last_data_age_s=None,
        messages=0,
        rejected=0,
        reconnects=0,
        connections=0,
        detail="no wallet watched",
    )


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
