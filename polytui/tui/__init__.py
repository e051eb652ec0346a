"""Textual console."""
