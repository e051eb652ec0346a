"""Execution: fees, paper broker, live broker."""
