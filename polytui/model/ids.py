"""Short ids for what the console creates: ``sig-1a2b3c4d``, ``int-…``, ``ord-…``, ``fill-…``.

Eight hex digits of a random UUID: short enough to read on screen and type in a command, and
the prefix says what the id names. The one place ids are made, so every kind reads the same.
"""

from __future__ import annotations

import uuid


def new_id(prefix: str) -> str:
    """``prefix-`` and eight random hex digits."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
