"""One definition of an object's ETag, for `If-Match` (412) on writes and
`ETag`/`If-None-Match` (304) on reads of single objects.

`etag_for(obj)` is a strong validator: `"<id hex>.<updated_at in µs>"` for
models with `updated_at` (tasks, lists, boards, comments; every service that
changes them sets it), else `"<id hex>.<digest of the field values>"`
(of the model's `ETAG_FIELDS` when it names them, as organizations do:
their name and slug; else of every column). It names the object, so the
same time on two objects (or in two organizations) never gives one tag.

`if_match(request, obj)`: with no `If-Match` header, `obj` as is; with one,
the object re-read under `SELECT ... FOR UPDATE` inside a transaction that
the caller's write joins, compared there (so no write can slip between the
check and the change), and 412 `precondition_failed` if no tag matches.
"""

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from django.db import models, transaction
from django.http import HttpRequest, HttpResponse

from platform_core.errors import AppError

M = TypeVar("M", bound=models.Model)


class PreconditionFailed(AppError):
    status, code = 412, "precondition_failed"
    detail = "The resource changed since you read it (If-Match); nothing was done."


def etag_for(obj: models.Model) -> str:
    ident = str(obj.pk).replace("-", "")  # a UUID as hex, whether the instance holds a UUID or its text
    updated = getattr(obj, "updated_at", None)
    if isinstance(updated, datetime):
        return f'"{ident}.{int(updated.timestamp() * 1_000_000)}"'
    names = getattr(obj, "ETAG_FIELDS", None) or [field.attname for field in obj._meta.concrete_fields]
    values = "|".join(str(getattr(obj, name)) for name in names)
    return f'"{ident}.{hashlib.sha256(values.encode()).hexdigest()[:16]}"'


def _tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def matches(header: str, etag: str) -> bool:
    """Strong comparison (RFC 9110 13.1.1): weak tags never match; `*` does."""
    tags = _tags(header)
    return "*" in tags or etag in tags


def none_match(header: str | None, etag: str) -> bool:
    """`If-None-Match` holds this tag (weak comparison): answer 304."""
    if not header:
        return False
    tags = [tag.removeprefix("W/") for tag in _tags(header)]
    return "*" in tags or etag in tags


@contextmanager
def if_match(request: HttpRequest, obj: M) -> Iterator[M]:
    header = request.headers.get("If-Match")
    if header is None:
        yield obj
        return
    with transaction.atomic():
        manager: Any = type(obj)._default_manager
        locked: M = manager.select_for_update().get(pk=obj.pk)
        if not matches(header, etag_for(locked)):
            raise PreconditionFailed()
        yield locked


def conditional_get(request: HttpRequest, response: HttpResponse, obj: models.Model) -> HttpResponse | None:
    """Set `ETag` on the handler's response; a 304 to return instead when
    `If-None-Match` holds it."""
    etag = etag_for(obj)
    if none_match(request.headers.get("If-None-Match"), etag):
        not_modified = HttpResponse(status=304)
        not_modified["ETag"] = etag
        return not_modified
    response["ETag"] = etag
    return None
