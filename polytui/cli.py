"""Command line: Typer commands only, no logic (imports are lazy so --help stays fast)."""

from __future__ import annotations

import typer

app = typer.Typer(add_completion=False, no_args_is_help=False, help=__doc__)


def main() -> None:
    """Console-script entry point."""
    app()
