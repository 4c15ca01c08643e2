"""`Idempotency-Key` on POST (organization hosts): the same caller sending the
same key with the same request within 24 hours gets the first response again
(`Idempotent-Replayed: true`), and nothing is done twice, even when both arrive
at once. Same key, another request (method, path or body): 422
`idempotency_key_reused`.

How (one transaction around the handler, public table `IdempotencyKey`):

    BEGIN
    INSERT (scope, caller, key, request hash) ON CONFLICT DO NOTHING RETURNING id
      inserted -> run the handler (its services' transactions become savepoints);
                  2xx: store status, content type and body in the row; COMMIT
                  (the write, its audit event and the key commit together)
                  anything else: ROLLBACK (the key is free again; a retry runs anew)
      conflict -> the other request committed (PostgreSQL made this INSERT wait
                  for it): replay its stored response, or 422 if the request differs
    COMMIT

A concurrent duplicate therefore blocks on the unique index until the first
commits or rolls back, then replays or runs: exactly one object is created.
The caller is `platform_core.auth.caller_of` (user for a JWT, the token for an
API token); without usable credentials the key is ignored and the handler
answers 401. A replay first re-checks the credentials as `MemberAuth` would
(`still_a_member`): a revoked token or session, or a member who left, gets
the handler's 401/403, never the stored response. Cost: see docs/BENCHMARKS.md (one INSERT and one UPDATE more,
inside the write's transaction).
"""

import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import cast

from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from platform_core.auth import caller_of, still_a_member
from platform_core.errors import envelope
from platform_core.http import AppRequest, OrgRequest
from platform_core.models import IdempotencyKey

HEADER = "Idempotency-Key"
TTL = timedelta(hours=24)
MAX_KEY_CHARS = 255
MAX_STORED_BYTES = 1_048_576  # responses larger than this are not stored (the key is released)

_TABLE = IdempotencyKey._meta.db_table


def request_hash(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}?{request.META.get('QUERY_STRING', '')}\n".encode())
    digest.update(request.body)
    return digest.hexdigest()


def _claim(scope: str, caller: str, key: str, fingerprint: str) -> bool:
    """Insert the key's row; False if it exists (after waiting for the
    transaction that inserted it). An expired row is replaced."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM public.{_TABLE} WHERE scope = %s AND caller = %s AND key = %s AND created_at < %s",
            [scope, caller, key, timezone.now() - TTL],
        )
        cursor.execute(
            f"INSERT INTO public.{_TABLE} (scope, caller, key, request_hash, content_type, created_at) "
            "VALUES (%s, %s, %s, %s, '', %s) ON CONFLICT (scope, caller, key) DO NOTHING RETURNING id",
            [scope, caller, key, fingerprint, timezone.now()],
        )
        return cursor.fetchone() is not None


def _replay(row: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(bytes(row.body or b""), status=row.status_code or 200, content_type=row.content_type)
    response["Idempotent-Replayed"] = "true"
    return response


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: AppRequest) -> HttpResponse:
        key = request.headers.get(HEADER)
        if key is None or request.method != "POST" or not request.path.startswith("/api/"):
            return self.get_response(request)
        org_id = getattr(request.tenant, "id", None)
        if org_id is None:  # the root host: not offered there (see docs/API.md)
            return self.get_response(request)
        if not 1 <= len(key) <= MAX_KEY_CHARS or not key.isprintable():
            return envelope(
                422,
                "validation_error",
                "Invalid input.",
                errors=[{"loc": ["header", HEADER], "msg": f"1 to {MAX_KEY_CHARS} printable characters."}],
            )
        caller = caller_of(request)
        if caller is None:
            return self.get_response(request)
        fingerprint = request_hash(request)
        scope = str(org_id)
        with transaction.atomic():
            if not _claim(scope, caller, key, fingerprint):
                if not still_a_member(cast(OrgRequest, request)):  # revoked meanwhile: the handler's 401/403
                    return self.get_response(request)
                row = IdempotencyKey.objects.get(scope=scope, caller=caller, key=key)
                if row.request_hash != fingerprint:
                    return envelope(
                        422,
                        "idempotency_key_reused",
                        "This Idempotency-Key was used with another request; use a new key.",
                    )
                return _replay(row)
            response = self.get_response(request)
            body = getattr(response, "content", None) if not response.streaming else None
            if not 200 <= response.status_code < 300 or body is None or len(body) > MAX_STORED_BYTES:
                transaction.set_rollback(True)
                return response
            IdempotencyKey.objects.filter(scope=scope, caller=caller, key=key).update(
                status_code=response.status_code,
                content_type=response.get("Content-Type", ""),
                body=body,
            )
            return response


def idempotency_sweep() -> int:
    """Scheduled: delete keys older than 24 hours."""
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - TTL).delete()
    return deleted
