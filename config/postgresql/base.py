"""Django's PostgreSQL backend, with the health check of a persistent connection skipped while it
is in steady use.

``CONN_HEALTH_CHECKS`` makes Django ping a reused connection (``SELECT 1``) before the first query
of every request: a round trip per request, both for us and for PostgreSQL, on every webhook.
What the ping catches is a connection that died while idle: a server restart, or an idle timeout
on the way to the server (a firewall, NAT or pooler). So this backend pings only a connection whose
previous ping (or skip, or opening) is ``CONN_HEALTH_CHECK_IDLE_SECONDS`` or more ago (1 s by
default; 0 pings on every request, as Django does). A connection that breaks while in use fails
that request with or without a ping, and Django drops it when the request ends.
"""

import time

from django.conf import settings
from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    _health_checked_at = float("-inf")

    def connect(self):
        super().connect()
        self._health_checked_at = time.monotonic()  # a new connection is healthy

    def close_if_health_check_failed(self):
        if self.connection is None or not self.health_check_enabled or self.health_check_done:
            return super().close_if_health_check_failed()
        now = time.monotonic()
        if now - self._health_checked_at < float(getattr(settings, "CONN_HEALTH_CHECK_IDLE_SECONDS", 0) or 0):
            self.health_check_done = True  # in use a moment ago
        else:
            super().close_if_health_check_failed()
        self._health_checked_at = now
