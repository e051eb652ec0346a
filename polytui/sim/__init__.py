"""Loopback exchange simulator speaking the real wire protocols."""
