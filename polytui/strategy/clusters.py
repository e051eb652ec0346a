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
        """Record a trade; return the distinct wallets buying this token inside the window."""
        if trade.side is not Side.BUY:
            return (trade.wallet,)
        recent = self._recent.setdefault(trade.token_id, deque())
        recent.append((trade.match_time, trade.wallet.lower()))
        horizon = trade.match_time - self.window
        while recent and recent[0][0] < horizon:
            recent.popleft()
        wallets: list[str] = []
        for _, wallet in recent:
            if wallet not in wallets:
                wallets.append(wallet)
        return tuple(wallets)

    def is_cluster(self, wallets: tuple[str, ...]) -> bool:
        """True when enough distinct wallets agree."""
        return len(wallets) >= self.size
