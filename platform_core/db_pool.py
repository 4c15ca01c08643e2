"""The psycopg pool's check on checkout, without a round trip in the steady state.

`ConnectionPool.check_connection` (what Django installs with
CONN_HEALTH_CHECKS) runs an empty query on every checkout: a round trip per
request. An idle pooled connection has nothing to say, so anything readable
on its socket (PostgreSQL ending the session: a restart, an administrator's
pg_terminate_backend, a crash closing the socket) means it must be checked;
only then does this run the full check, and the pool replaces a connection
that fails it. A silent network loss is left to the query's own error and
the pool's `max_lifetime`.
"""

import select
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool


def check_if_disturbed(conn: psycopg.Connection[Any]) -> None:
    if conn.closed or conn.broken:
        raise psycopg.OperationalError("connection closed")
    readable, _, _ = select.select([conn.fileno()], [], [], 0)
    if readable:
        ConnectionPool.check_connection(conn)
