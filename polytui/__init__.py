"""polytui: a keyboard-driven Polymarket copy-trading console."""

__version__ = "0.1.0"
