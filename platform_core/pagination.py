"""Keyset (cursor) pagination: `?limit=&cursor=` -> {"items": [...], "next_cursor": ...}.

The cursor holds the ordering keys of the last item returned, so rows
inserted or deleted between pages never cause a skip or a repeat. The
ordering must end in a unique key (`id`). Cursors are opaque base64 JSON and
carry the ordering they were made for; a bogus cursor is a 422.
"""

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from ninja import Field, Schema

from platform_core.errors import InvalidInput

T = TypeVar("T")


class PageQuery(Schema):
    limit: int = Field(50, ge=1, le=200, description="Page size (1-200).")
    cursor: str | None = Field(
        None, max_length=1024, description="`next_cursor` of the previous page."
    )


class Page(Schema, Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass
class PageResult:
    items: list[Any]
    next_cursor: str | None


def _encode_value(value: object) -> object:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, UUID):
        return {"u": str(value)}
    return value


# A cursor is at most this long (PageQuery enforces the same bound on ?cursor=).
MAX_CURSOR_CHARS = 1024
_CURSOR_RE = re.compile(r"[A-Za-z0-9_-]*")
_INT_RANGE = (-(2**63), 2**63 - 1)  # PostgreSQL bigint


class _Bad(Exception):
    """A forged or damaged cursor (reported as one 422)."""


def _invalid() -> InvalidInput:
    return InvalidInput("Invalid cursor.", loc=["query", "cursor"])


def _decode_value(value: object) -> int | str | datetime | UUID:
    """One JSON value of a cursor: int, str, {"t": iso datetime} or {"u": uuid}; nothing else."""
    if isinstance(value, bool) or value is None:
        raise _Bad("null or boolean")
    if isinstance(value, int | str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((tag, raw),) = value.items()
        if not isinstance(raw, str) or len(raw) > 64:
            raise _Bad("tagged value is not a short string")
        if tag == "t":
            return datetime.fromisoformat(raw)
        if tag == "u":
            return UUID(raw)
    raise _Bad("unknown value type")


def _field(order_key: str) -> tuple[str, bool]:
    return (order_key[1:], True) if order_key.startswith("-") else (order_key, False)


def encode_cursor(values: list[Any], ordering: tuple[str, ...]) -> str:
    raw = json.dumps(
        {"o": ",".join(ordering), "v": [_encode_value(v) for v in values]}, separators=(",", ":")
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: object, ordering: tuple[str, ...]) -> list[Any]:
    """The values of a cursor made for `ordering`, by JSON type; anything else is a 422.

    Only what `encode_cursor` writes is accepted: URL-safe base64 (padding
    optional) of UTF-8 JSON `{"o": "<ordering>", "v": [one value per key]}`.
    """
    try:
        if (
            not isinstance(cursor, str)
            or len(cursor) > MAX_CURSOR_CHARS
            or not _CURSOR_RE.fullmatch(cursor)
        ):
            raise _Bad("not URL-safe base64")
        if len(cursor) % 4 == 1:
            raise _Bad("truncated base64")
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict) or set(data) != {"o", "v"}:
            raise _Bad("not a cursor object")
        if data["o"] != ",".join(ordering):
            raise _Bad("cursor for another ordering")
        if not isinstance(data["v"], list) or len(data["v"]) != len(ordering):
            raise _Bad("wrong number of values")
        return [_decode_value(v) for v in data["v"]]
    except (_Bad, ValueError, TypeError, binascii.Error, UnicodeError, RecursionError):
        raise _invalid() from None


def _after(ordering: tuple[str, ...], values: list[Any]) -> Q:
    """Rows strictly after `values` in `ordering` (lexicographic keyset)."""
    condition = Q()
    for i, key in enumerate(ordering):
        name, desc = _field(key)
        step = Q(**{f"{name}__{'lt' if desc else 'gt'}": values[i]})
        for prev_key, prev_value in zip(ordering[:i], values[:i], strict=False):
            step &= Q(**{_field(prev_key)[0]: prev_value})
        condition |= step
    return condition


_INT_TYPES = {
    "AutoField",
    "BigAutoField",
    "SmallAutoField",
    "IntegerField",
    "BigIntegerField",
    "SmallIntegerField",
    "PositiveIntegerField",
    "PositiveBigIntegerField",
    "PositiveSmallIntegerField",
}
_TEXT_TYPES = {"CharField", "TextField", "SlugField", "EmailField"}


def _typed_value(field: Any, value: Any) -> Any:
    """`value` as a valid query value of `field`, or _Bad: the JSON type must match the column's."""
    if field.is_relation:
        field = field.target_field
    kind = field.get_internal_type()
    if kind == "UUIDField":
        if not isinstance(value, UUID):
            raise _Bad("not a UUID")
        return value
    if kind == "DateTimeField":
        if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
            raise _Bad("not an aware datetime")
        return value.astimezone(UTC)  # OverflowError at the calendar's edges
    if kind in _INT_TYPES:
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or not _INT_RANGE[0] <= value <= _INT_RANGE[1]
        ):
            raise _Bad("not a 64-bit integer")
        field.run_validators(value)
        return value
    if kind in _TEXT_TYPES:
        if not isinstance(value, str) or "\x00" in value:
            raise _Bad("not text")
        value.encode("utf-8")  # lone surrogates: UnicodeEncodeError
        return value
    # Other column types: what the field itself accepts, never null.
    if isinstance(value, dict | list) or value is None:
        raise _Bad("not a scalar")
    value = field.to_python(value)
    if value is None:
        raise _Bad("null")
    return value


def _typed(queryset: QuerySet[Any], ordering: tuple[str, ...], values: list[Any]) -> list[Any]:
    """Cursor values checked against their columns' types (a forged cursor is a 422, not a 500)."""
    typed = []
    for key, value in zip(ordering, values, strict=True):
        field = queryset.query.resolve_ref(_field(key)[0]).output_field
        try:
            typed.append(_typed_value(field, value))
        except (_Bad, ValidationError, TypeError, ValueError, OverflowError, UnicodeError):
            raise _invalid() from None
    return typed


def cursor_values(queryset: QuerySet[Any], ordering: tuple[str, ...], cursor: object) -> list[Any]:
    """The cursor's values, each of its column's type; InvalidInput (422) for anything forged."""
    return _typed(queryset, ordering, decode_cursor(cursor, ordering))


def cursor_filter(queryset: QuerySet[Any], ordering: tuple[str, ...], cursor: str) -> QuerySet[Any]:
    """`queryset` narrowed to the rows after `cursor`; InvalidInput (422) for any forged cursor."""
    values = cursor_values(queryset, ordering, cursor)
    try:
        return queryset.filter(_after(ordering, values))
    except (ValueError, TypeError, ValidationError):  # defence in depth: never a 500
        raise _invalid() from None


def paginate(
    queryset: QuerySet[Any], *, ordering: tuple[str, ...], limit: int, cursor: str | None
) -> PageResult:
    """One query: the page plus one row to know whether another page follows.

    Ordering keys must be non-null (annotate with Coalesce for nullable columns).
    """
    if cursor:
        queryset = cursor_filter(queryset, ordering, cursor)
    rows = list(queryset.order_by(*ordering)[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor([_value_of(last, _field(k)[0]) for k in ordering], ordering)
    return PageResult(items=rows, next_cursor=next_cursor)


def _value_of(obj: Any, path: str) -> Any:
    for part in path.split("__"):
        obj = obj[part] if isinstance(obj, dict) else getattr(obj, part)
    return obj
