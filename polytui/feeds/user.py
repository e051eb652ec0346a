"""The CLOB user channel (``/ws/user``): our own orders and trades, as parsed events.

A feed adapter like the others: the shared reconnect loop (:class:`WsFeed`) runs it, this module
turns each text frame into event dicts and hands them on. What they mean (trade statuses,
fills) is the live broker's order tracker's business, not the feed's. A frame that is not JSON
raises, and the reconnect loop counts and drops it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from polytui.feeds.connection import WsFeed
from polytui.model import FeedState, FeedStatus
from polytui.settings import FeedSettings


class UserChannel(WsFeed):
    """The user channel: quiet until we trade, so silence is never shown as a fault."""

    def status(self) -> FeedStatus:
        """Counters and flags; a connected, quiet channel is LIVE."""
        status = super().status()
        if self.connected and status.state is FeedState.DEGRADED:
            status = replace(status, state=FeedState.LIVE)
        return status


def user_channel(
    feeds: FeedSettings,
    *,
    auth: Callable[[], dict[str, str]],
    on_event: Callable[[Any], None],
) -> UserChannel:
    """The ``user`` feed: subscribes with the L2 ``auth`` and calls ``on_event`` per event."""

    def on_frame(frame: str) -> None:
        data = json.loads(frame)
        for event in data if isinstance(data, list) else [data]:
            on_event(event)

    def subscribe() -> list[str]:
        return [json.dumps({"auth": auth(), "markets": [], "type": "user"})]

    return UserChannel(
        "user",
        feeds.clob_user_ws_url,
        on_frame=on_frame,
        subscribe_messages=subscribe,
        ping_interval_s=feeds.clob_ping_s,
        # The user channel is quiet until we trade; silence is never a fault here.
        silence_s=max(feeds.clob_silence_s, 60.0),
        backoff_initial_s=feeds.backoff_initial_s,
        backoff_cap_s=feeds.backoff_cap_s,
        expect_data=lambda: False,
    )
