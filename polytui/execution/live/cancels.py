"""Cancels: a resting order at its timeout, and the kill switch's ``DELETE /cancel-all``.

``not_canceled`` (order id → reason) is reported, never hidden: an order the CLOB would not
cancel (already matched, say) is still followed.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from polytui import redaction
from polytui.execution.live.clob_rest import CANCEL_ALL, CANCEL_ORDER, ClobRest
from polytui.execution.live.reconcile import RECONCILE_ERRORS, OrderLookup
from polytui.execution.live.tracking import OrderTracker, TrackedOrder
from polytui.model import Order, OrderStatus

log = logging.getLogger(__name__)

EmitHook = Callable[[Order, list[Order]], None]
RecordHook = Callable[[str, str, dict[str, Any]], None]


class Cancels:
    """DELETE calls for the broker; status changes go out through its hooks."""

    def __init__(
        self,
        clob: ClobRest,
        tracker: OrderTracker,
        lookup: OrderLookup,
        *,
        emit: EmitHook,
        record: RecordHook,
    ) -> None:
        self.clob = clob
        self.tracker = tracker
        self.lookup = lookup
        self.emit = emit
        self.record = record

    async def cancel_one(self, tracked: TrackedOrder, timeout_s: float) -> None:
        """Cancel a resting order at its timeout; ``not_canceled`` is reported, not hidden."""
        tracked.cancel_tried = True
        data: Any = None
        with contextlib.suppress(*RECONCILE_ERRORS):
            data = await self.clob.json("DELETE", CANCEL_ORDER, body={"orderID": tracked.clob_id})
        data = data if isinstance(data, dict) else {}
        canceled = {str(c).lower() for c in data.get("canceled") or []}
        refused = {str(k).lower(): str(v) for k, v in dict(data.get("not_canceled") or {}).items()}
        self.record(
            "clob",
            tracked.order.id,
            {
                "event": "cancel",
                "clob_id": tracked.clob_id,
                "canceled": tracked.clob_id in canceled,
                "not_canceled": refused.get(tracked.clob_id, ""),
            },
        )
        if tracked.clob_id in canceled:
            tracked.closed = True
            self.emit(
                replace(
                    tracked.order,
                    status=OrderStatus.CANCELLED,
                    reason=f"resting {timeout_s:g} s; remainder cancelled",
                ),
                tracked.history,
            )
            return
        why = refused.get(tracked.clob_id) or ("no answer" if not data else "not in the answer")
        self.emit(
            replace(
                tracked.order,
                status=OrderStatus.UNKNOWN,
                reason=f"cancel after {timeout_s:g} s not done: "
                f"{redaction.redact(why)[:120]}; still followed",
            ),
            tracked.history,
        )
        with contextlib.suppress(*RECONCILE_ERRORS):
            await self.lookup.refresh(tracked)

    async def cancel_all(self) -> int:
        """``DELETE /cancel-all``: every open order of this account, ours or not."""
        data = await self.clob.json("DELETE", CANCEL_ALL)
        data = data if isinstance(data, dict) else {}
        canceled = [str(c).lower() for c in data.get("canceled") or []]
        not_canceled = {str(k): str(v) for k, v in dict(data.get("not_canceled") or {}).items()}
        for clob_id in canceled:
            tracked = self.tracker.get(clob_id)
            if tracked is not None and not tracked.closed:
                tracked.closed = True
                self.emit(
                    replace(tracked.order, status=OrderStatus.CANCELLED, reason="kill switch"),
                    tracked.history,
                )
                tracked.changed.set()
        self.record(
            "clob",
            "cancel-all",
            {"event": "cancel_all", "canceled": canceled, "not_canceled": not_canceled},
        )
        if not_canceled:
            log.warning("cancel-all: %d order(s) not cancelled", len(not_canceled))
        return len(canceled)
