"""Reads the console's current frame as plain text lines (what a terminal would show)."""

from __future__ import annotations

from textual.app import App


def screen_lines(app: App[object]) -> list[str]:
    """Every row of the current screen, including open dialogs, as plain text."""
    strips = app.screen._compositor.render_strips()
    return ["".join(segment.text for segment in strip).rstrip() for strip in strips]


def screen_text(app: App[object]) -> str:
    """The whole frame as one string."""
    return "\n".join(screen_lines(app))
