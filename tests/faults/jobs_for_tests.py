"""Job functions for tests/faults, importable by a real rqworker (cwd is the project root).

`slow_effect` records each attempt, applies its effect idempotently, then
sleeps: a worker killed during the sleep has already done the effect, so a
second run must not do it again, and it has not finished, so RQ must run it
again. Tables live in the public schema of the throwaway database:
proof_attempts (one row per attempt) and proof_effects (the effect).
"""

import time

from django.db import connection, transaction

TABLES = (
    "CREATE TABLE IF NOT EXISTS public.proof_attempts (key text NOT NULL, schema text NOT NULL,"
    " at timestamptz NOT NULL DEFAULT now());"
    "CREATE TABLE IF NOT EXISTS public.proof_effects (key text PRIMARY KEY, applied integer NOT NULL);"
)


def slow_effect(*, key: str, pause: float) -> str:
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO public.proof_attempts (key, schema) VALUES (%s, %s)",
                       [key, connection.schema_name])
    with transaction.atomic(), connection.cursor() as cursor:
        # Idempotent: applied once whatever the number of runs.
        cursor.execute("INSERT INTO public.proof_effects (key, applied) VALUES (%s, 1) ON CONFLICT (key) DO NOTHING",
                       [key])
    time.sleep(pause)
    return key
