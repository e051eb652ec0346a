"""The one error a remote service raises when it cannot start.

Its own module so that the services (which build the bot and the metrics endpoint) and the
endpoint (which raises it on a port it cannot bind) both import it without importing each other.
"""

from __future__ import annotations


class RemoteError(Exception):
    """A remote service that cannot start; the message says what to fix."""
