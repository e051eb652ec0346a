"""The screenshot script renders the real console to SVG, the same way every time."""

from __future__ import annotations

from pathlib import Path

from polytui.tui.screenshots import SHOTS, take


async def test_screenshot_is_an_svg_of_the_console_and_deterministic(tmp_path: Path) -> None:
    _name, size, keys, mode = SHOTS[0]  # 80×24
    first, second = tmp_path / "a.svg", tmp_path / "b.svg"
    await take(first, size, keys, mode)
    await take(second, size, keys, mode)
    text = first.read_text()
    assert text.startswith("<svg")
    assert "PAPER" in text and "12:00:00" in text
    assert first.read_bytes() == second.read_bytes()
