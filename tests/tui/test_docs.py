"""The README's key table and screenshots match the app."""

from __future__ import annotations

import re

from textual.binding import Binding

from polytui.tui.app import PolytuiApp
from tests.conftest import REPO

README = (REPO / "README.md").read_text()
KEY_NAMES = {"slash": "/", "question_mark": "?", "escape": "esc"}


def test_readme_key_table_lists_every_binding() -> None:
    section = README.split("## Keys", 1)[1].split("\n## ", 1)[0]
    for binding in PolytuiApp.BINDINGS:
        assert isinstance(binding, Binding)
        key = KEY_NAMES.get(binding.key, binding.key)
        assert f"`{key}`" in section, f"README key table lacks {key}"


def test_readme_screenshots_exist() -> None:
    images = re.findall(r"\((screenshots/[^)]+\.svg)\)", README)
    assert images, "the README embeds the console screenshots"
    for image in images:
        assert (REPO / image).is_file(), image
