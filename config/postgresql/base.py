"""Django's PostgreSQL backend, with the health check of a persistent connection skipped while it
is in steady use, and prepared statements for the statements that ask for them.

``CONN_HEALTH_CHECKS`` makes Django ping a reused connection (``SELECT 1``) before the first query
of every request: a round trip per request, both for us and for PostgreSQL, on every webhook.
What the ping catches is a connection that died while idle: a server restart, or an idle timeout
on the way to the server (a firewall, NAT or pooler). So this backend pings only a connection whose
previous ping (or skip, or opening) is ``CONN_HEALTH_CHECK_IDLE_SECONDS`` or more ago (1 s by
default; 0 pings on every request, as Django does). A connection that breaks while in use fails
that request with or without a ping, and Django drops it when the request ends.

``prepared_cursor()``: the webhook intake's one statement is prepared on each connection (parsed
and planned once, not on every webhook); the ORM's queries never are. ``DATABASE_PREPARED_STATEMENTS``
off turns it off, for a connection pooler in transaction mode that does not keep prepared
statements (PgBouncer before 1.21, or without ``max_prepared_statements``).
"""

import sys
import time

import psycopg
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
        if now - self._health_checked_at < settings.CONN_HEALTH_CHECK_IDLE_SECONDS:
            self.health_check_done = True  # in use a moment ago
        else:
            super().close_if_health_check_failed()
        self._health_checked_at = now

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        if connection.prepare_threshold is None and settings.DATABASE_PREPARED_STATEMENTS:
            # Statements are prepared only where asked (``prepared_cursor``), never by count: the
            # ORM's cursors bind on the client and are never prepared.
            connection.prepare_threshold = sys.maxsize
        return connection

    def prepared_cursor(self):
        """A cursor for a statement run many times on a hot path: psycopg's own ``Cursor``, which
        binds the parameters on the server (they travel as they are, not quoted into the SQL), and
        prepares each statement on the connection the first time it runs, so PostgreSQL parses and
        plans it once per connection, not per call. Django keeps prepared statements off for the
        ORM (``prepare_threshold`` None, for connection poolers in transaction mode); this opts in
        one statement at a time. Wrapped as Django wraps its own cursors (error translation,
        execute wrappers, query logging), after the same health check."""
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            return self._prepare_cursor(_PreparingCursor(self.connection))


class _PreparingCursor(psycopg.Cursor):
    def execute(self, query, params=None, **kwargs):
        return super().execute(query, params, prepare=True, **kwargs)
