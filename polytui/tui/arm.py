"""The approval arm delay: an approval key right after a prompt appears is ignored.

A held-down or repeated key must never approve a trade the operator has not seen yet, so after a
new pending intent shows up (or an approval dialog opens) approval keys are ignored for
``ARM_DELAY_S``. The clock is injected so tests can step through the window exactly.
"""

from __future__ import annotations

from collections.abc import Callable

ARM_DELAY_S = 0.3


class ApprovalArm:
    """Remembers when the last prompt appeared and says whether approval keys count yet."""

    def __init__(self, monotonic: Callable[[], float], delay_s: float = ARM_DELAY_S) -> None:
        self._monotonic = monotonic
        self.delay_s = delay_s
        self._prompted_at: float | None = None

    def prompt(self) -> None:
        """A prompt just appeared: restart the delay."""
        self._prompted_at = self._monotonic()

    def ready(self) -> bool:
        """True when the delay since the last prompt has passed."""
        if self._prompted_at is None:
            return True
        return self._monotonic() - self._prompted_at >= self.delay_s

    def remaining_s(self) -> float:
        """Seconds until approval keys count again (0 when armed)."""
        if self._prompted_at is None:
            return 0.0
        return max(0.0, self.delay_s - (self._monotonic() - self._prompted_at))
