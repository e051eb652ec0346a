"""Clusters: several distinct watched wallets buying the same outcome within a window."""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

from polytui.model import Side, WhaleTrade


class ClusterDetector:
    """Tracks recent buys per token; reports the distinct wallets inside the window."""

    def __init__(self, size: int, window_s: float) -> None:
        self.size = size
        self.window = timedelta(seconds=window_s)
        self._recent: dict[str, deque[tuple[datetime, str]]] = {}

    def add(self, trade: WhaleTrade) -> tuple[str, ...]:
        """Record a trade; return the distinct wallets buying this token inside the window.

        The window is measured in the trades' own match times (never the local clock), around
        this trade, so trades that arrive out of order (catch-up, a slow source) still count and
        a stray old one is forgotten once the newest is a window past it.
        """
        if trade.side is not Side.BUY:
            return (trade.wallet,)
        at = trade.match_time
        recent = self._recent.get(trade.token_id) or deque()
        recent.append((at, trade.wallet.lower()))
        horizon = max(t for t, _ in recent) - self.window
        recent = deque(entry for entry in recent if entry[0] >= horizon)
        self._recent[trade.token_id] = recent
        wallets: list[str] = []
        for t, wallet in recent:
            if abs(t - at) <= self.window and wallet not in wallets:
                wallets.append(wallet)
        return tuple(wallets)

    def is_cluster(self, wallets: tuple[str, ...]) -> bool:
        """True when enough distinct wallets agree."""
        return len(wallets) >= self.size
