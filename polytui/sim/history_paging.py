"""How the simulated data-api pages, checks parameters and throttles (no world knowledge).

- v2: ``{"data": [...], "pagination": {"has_more", "next_cursor"}}``; the cursor is opaque
  (base64 JSON of the endpoint, the anchor, the bound sort parameters, the page size and the
  key of the last row served), so a new row arriving at the top never shifts a page. A cursor
  without its anchor (``user`` / ``condition``) is a 400, as are an anchor or a bound parameter
  (``status``, ``sort_by``, ``sort_direction``) that contradict it; ``limit`` is ignored once a
  cursor is given; filters are not in the cursor and must be sent again.
- v1: plain arrays paged by ``offset`` with the published caps; a ``limit`` or ``offset`` out
  of its documented range is a 400 naming it.
- Rate limits (HISTORY-MEMPOOL-REMOTE.md §1.3): sliding 10 s windows, 1,000 requests overall,
  200 for ``/trades`` and ``/v2/trades``, 150 for ``/positions``, ``/closed-positions`` and
  ``/v2/positions``. Over a limit a request is queued until it fits (Cloudflare delays rather
  than rejects); every arrival is recorded so a test can count requests per window.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

WINDOW_S = 10.0
LOG_MAX = 200_000  # arrivals and admissions remembered (a long-running simulator forgets)
PUBLISHED_LIMITS: dict[str, tuple[tuple[str, ...], int]] = {
    "overall": ((), 1000),
    "trades": (("/trades", "/v2/trades"), 200),
    "positions": (("/positions", "/closed-positions", "/v2/positions"), 150),
}


class BadRequest(Exception):
    """A request the data-api answers with 400 (the message says which parameter)."""


def integer(q: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    """An integer parameter within [lo, hi]."""
    raw = q.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer") from None
    if not lo <= value <= hi:
        raise BadRequest(f"{name} must be between {lo} and {hi}")
    return value


def boolean(q: Mapping[str, str], name: str, default: bool) -> bool:
    """``true`` / ``false``."""
    raw = q.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() not in ("true", "false"):
        raise BadRequest(f"{name} must be true or false")
    return raw.lower() == "true"


def choice(q: Mapping[str, str], name: str, default: str, allowed: Sequence[str]) -> str:
    """One of ``allowed`` (case-insensitive; answered in the allowed spelling)."""
    raw = q.get(name)
    if raw is None or raw == "":
        return default
    for option in allowed:
        if raw.upper() == option.upper():
            return option
    raise BadRequest(f"{name} must be one of {', '.join(allowed)}")


def csv(q: Mapping[str, str], *names: str) -> list[str]:
    """A comma-separated list from the first of ``names`` present (lower-cased)."""
    for name in names:
        raw = q.get(name)
        if raw:
            return [part.strip().lower() for part in raw.split(",") if part.strip()]
    return []


def encode_cursor(payload: dict[str, Any]) -> str:
    """Opaque cursor text."""
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def decode_cursor(text: str) -> dict[str, Any]:
    """Inverse of :func:`encode_cursor`; a 400 for anything else."""
    try:
        payload = json.loads(base64.urlsafe_b64decode(text.encode()))
    except (ValueError, TypeError):
        raise BadRequest("cursor is not valid") from None
    if not isinstance(payload, dict) or not {"e", "a", "b", "l", "k"} <= payload.keys():
        raise BadRequest("cursor is not valid")
    return payload


@dataclass(frozen=True, slots=True)
class PageRequest:
    """What a v2 request asked for: page size and, after a cursor, the last key served."""

    limit: int
    after: tuple[Any, ...] | None
    endpoint: str
    anchor: dict[str, str]
    bound: dict[str, str]

    def cursor_after(self, key: tuple[Any, ...]) -> str:
        """The cursor of the page that follows a row with ``key``."""
        return encode_cursor(
            {"e": self.endpoint, "a": self.anchor, "b": self.bound, "l": self.limit, "k": key}
        )


def page_request(
    q: Mapping[str, str],
    endpoint: str,
    anchor: dict[str, str],
    bound: dict[str, str],
    default_limit: int,
    max_limit: int,
) -> PageRequest:
    """Check a v2 request's paging parameters against its cursor (when it has one)."""
    if "cursor" not in q:
        limit = integer(q, "limit", default_limit, 0, max_limit)
        return PageRequest(limit, None, endpoint, anchor, bound)
    if not any(anchor.values()):
        raise BadRequest("a cursor needs the same anchor (user or condition) as its first page")
    payload = decode_cursor(q["cursor"])
    if payload["e"] != endpoint or payload["a"] != anchor:
        raise BadRequest("cursor does not belong to this query's anchor")
    for name, value in bound.items():
        if name in q and payload["b"].get(name) != value:
            raise BadRequest(f"{name} contradicts the cursor")
    key = payload["k"]
    if not isinstance(key, list):
        raise BadRequest("cursor is not valid")
    return PageRequest(int(payload["l"]), tuple(key), endpoint, anchor, payload["b"])


def v2_page(
    rows: Sequence[tuple[tuple[Any, ...], dict[str, Any]]], req: PageRequest, desc: bool
) -> dict[str, Any]:
    """One page of ``rows`` (already in served order, each with its key)."""
    if req.after is not None:
        after = req.after
        rows = [r for r in rows if (r[0] < after if desc else r[0] > after)]
    chunk = rows[: req.limit]
    more = len(rows) > req.limit and req.limit > 0
    cursor = req.cursor_after(chunk[-1][0]) if more and chunk else None
    return envelope([row for _, row in chunk], cursor)


def envelope(rows: list[dict[str, Any]], cursor: str | None) -> dict[str, Any]:
    """The v2 page envelope."""
    return {"data": rows, "pagination": {"has_more": cursor is not None, "next_cursor": cursor}}


@dataclass(slots=True)
class Throttle:
    """The published sliding windows; a request over a limit waits for its turn."""

    limits: dict[str, tuple[tuple[str, ...], int]] = field(
        default_factory=lambda: dict(PUBLISHED_LIMITS)
    )
    clock: Callable[[], float] = time.monotonic
    window_s: float = WINDOW_S
    arrivals: deque[tuple[float, str]] = field(default_factory=lambda: deque(maxlen=LOG_MAX))
    served: deque[tuple[float, str]] = field(default_factory=lambda: deque(maxlen=LOG_MAX))
    admitted: dict[str, deque[float]] = field(default_factory=dict)
    delayed: int = 0
    delayed_s: float = 0.0

    def rules(self, path: str) -> list[tuple[str, int]]:
        """The (rule, limit) pairs a path falls under."""
        return [
            (name, limit)
            for name, (paths, limit) in self.limits.items()
            if not paths or path in paths
        ]

    def admit_at(self, path: str, now: float) -> float:
        """Reserve the earliest moment ``path`` fits every window it falls under."""
        at = now
        rules = self.rules(path)
        for name, limit in rules:
            window = self.admitted.setdefault(name, deque())
            while window and window[0] <= now - self.window_s:
                window.popleft()
            if len(window) >= limit:
                at = max(at, window[-limit] + self.window_s)
        for name, _ in rules:
            self.admitted[name].append(at)
        return at

    async def wait(self, path: str) -> None:
        """Record the arrival and hold the request until it fits."""
        now = self.clock()
        self.arrivals.append((now, path))
        at = self.admit_at(path, now)
        if at > now:
            self.delayed += 1
            self.delayed_s += at - now
            await asyncio.sleep(at - now)
        self.served.append((at, path))

    def max_in_window(
        self, paths: Sequence[str] = (), window_s: float | None = None, served: bool = False
    ) -> int:
        """The most arrivals (or, with ``served``, requests let through) to ``paths`` (or any)
        within any ``window_s`` (the throttle's)."""
        window_s = self.window_s if window_s is None else window_s
        log = self.served if served else self.arrivals
        stamps = sorted(t for t, p in log if not paths or p in paths)
        best = 0
        j = 0
        for i, t in enumerate(stamps):
            while stamps[j] <= t - window_s:
                j += 1
            best = max(best, i - j + 1)
        return best
