"""Keyset (cursor) pagination: `?limit=&cursor=` -> {"items": [...], "next_cursor": ...}.

The cursor holds the ordering keys of the last item returned, so rows
inserted or deleted between pages never cause a skip or a repeat. The
ordering must end in a unique key (`id`). Cursors are opaque base64 JSON and
carry the ordering they were made for; a bogus cursor is a 422.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from ninja import Field, Schema

from platform_core.errors import InvalidInput

T = TypeVar("T")


class PageQuery(Schema):
    limit: int = Field(50, ge=1, le=200, description="Page size (1-200).")
    cursor: str | None = Field(None, max_length=1024, description="`next_cursor` of the previous page.")


class Page(Schema, Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass
class PageResult:
    items: list
    next_cursor: str | None


def _encode_value(value):
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, UUID):
        return {"u": str(value)}
    return value


def _decode_value(value):
    if isinstance(value, dict):
        if "t" in value:
            return datetime.fromisoformat(value["t"])
        if "u" in value:
            return UUID(value["u"])
        raise ValueError("unknown value type")
    if value is None or isinstance(value, int | str | float | bool):
        return value
    raise ValueError("bad value")


def _field(order_key: str) -> tuple[str, bool]:
    return (order_key[1:], True) if order_key.startswith("-") else (order_key, False)


def encode_cursor(values: list, ordering: tuple[str, ...]) -> str:
    raw = json.dumps({"o": ",".join(ordering), "v": [_encode_value(v) for v in values]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, ordering: tuple[str, ...]) -> list:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if data["o"] != ",".join(ordering) or len(data["v"]) != len(ordering):
            raise ValueError("cursor for another ordering")
        return [_decode_value(v) for v in data["v"]]
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error, UnicodeError, RecursionError):
        raise InvalidInput("Invalid cursor.", loc=["query", "cursor"]) from None


def _after(ordering: tuple[str, ...], values: list) -> Q:
    """Rows strictly after `values` in `ordering` (lexicographic keyset)."""
    condition = Q()
    for i, key in enumerate(ordering):
        name, desc = _field(key)
        step = Q(**{f"{name}__{'lt' if desc else 'gt'}": values[i]})
        for prev_key, prev_value in zip(ordering[:i], values[:i], strict=False):
            step &= Q(**{_field(prev_key)[0]: prev_value})
        condition |= step
    return condition


def _typed(queryset: QuerySet, ordering: tuple[str, ...], values: list) -> list:
    """Cursor values cleaned by their fields (a forged cursor is a 422, not a 500)."""
    typed = []
    for key, value in zip(ordering, values, strict=True):
        field = queryset.query.resolve_ref(_field(key)[0]).output_field
        try:
            typed.append(field.clean(value, None))
        except (ValidationError, TypeError, ValueError, OverflowError):
            raise InvalidInput("Invalid cursor.", loc=["query", "cursor"]) from None
    return typed


def paginate(queryset: QuerySet, *, ordering: tuple[str, ...], limit: int, cursor: str | None) -> PageResult:
    """One query: the page plus one row to know whether another page follows.

    Ordering keys must be non-null (annotate with Coalesce for nullable columns).
    """
    if cursor:
        values = _typed(queryset, ordering, decode_cursor(cursor, ordering))
        queryset = queryset.filter(_after(ordering, values))
    rows = list(queryset.order_by(*ordering)[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor([_value_of(last, _field(k)[0]) for k in ordering], ordering)
    return PageResult(items=rows, next_cursor=next_cursor)


def _value_of(obj, path: str):
    for part in path.split("__"):
        obj = obj[part] if isinstance(obj, dict) else getattr(obj, part)
    return obj
