"""Shared fixtures: the protocol samples from ../shared, fake clocks, temp data dirs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from polytui.clock import FakeClock

REPO = Path(__file__).resolve().parent.parent
# ../shared beside the repo, or wherever POLYTUI_SHARED says (a checkout elsewhere); a git
# worktree sits deeper than the main checkout, so without the variable the nearest parent wins.
SHARED = Path(
    os.environ.get("POLYTUI_SHARED")
    or next(
        (base / "shared" for base in REPO.parents if (base / "shared" / "polymarket").is_dir()),
        REPO.parent / "shared",
    )
)
SAMPLES = SHARED / "polymarket" / "samples"
ANVIL = REPO / ".tools" / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
FULL = os.environ.get("POLYTUI_FULL") == "1"


def load_sample(name: str) -> Any:
    """Load one JSON sample from ../shared/polymarket/samples, failing loudly if missing."""
    path = SAMPLES / name
    if not path.is_file():
        raise FileNotFoundError(
            f"protocol sample {path} is missing: the suite needs ../shared beside the repo"
        )
    return json.loads(path.read_text())


@pytest.fixture
def samples_dir() -> Path:
    if not SAMPLES.is_dir():
        raise FileNotFoundError(f"{SAMPLES} is missing: clone the repo with ../shared beside it")
    return SAMPLES


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(autouse=True)
def _node_url_per_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts without ``POLYTUI_POLYGON_WS``, and whatever it sets is undone after it.

    Many simulator tests export the simulator's node URL for the engine they build; left in the
    environment it would point every later test in the process at a closed port, and the
    operator's own node URL must not reach a test either."""
    monkeypatch.delenv("POLYTUI_POLYGON_WS", raising=False)
