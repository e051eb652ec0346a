"""The log pane: engine notices and console messages, newest at the bottom."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import RichLog

from polytui.tui.pane import Pane
from polytui.tui.state import MAX_LOG_LINES, ConsoleState

# One width for every level (the engine says "warning", some notices "warn").
LEVELS = {"warning": "WARN", "warn": "WARN", "error": "ERROR", "info": "INFO", "debug": "DEBUG"}


class LogPane(Pane):
    """A bounded scrollback of notices; written to as they arrive, never rebuilt."""

    TITLE = "Log"

    def compose(self) -> ComposeResult:
        yield RichLog(max_lines=MAX_LOG_LINES, wrap=False, markup=False, id="log-lines")

    def focus_target(self) -> RichLog:
        return self.query_one(RichLog)

    def write(self, when: datetime, level: str, message: str, component: str = "") -> None:
        """Append one line (plain text: messages may contain brackets)."""
        prefix = f"{when:%H:%M:%S} {LEVELS.get(level, level.upper()):5} "
        source = f"{component}: " if component else ""
        self.query_one(RichLog).write(Text(prefix + source + message, no_wrap=True))

    def draw(self, state: ConsoleState, now: datetime) -> None:
        """Lines are appended as notices arrive (see the app's event pump); nothing to redraw."""
