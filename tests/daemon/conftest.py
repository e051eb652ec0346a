"""The simulator the daemon tests trade against: one per module, on its own thread."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from polytui.demo import SimThread


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    thread = SimThread("demo", seed=7, speed=10.0)
    server = thread.start()
    yield server
    thread.stop()
