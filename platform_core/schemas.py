"""Base classes for input schemas: text never carries NUL bytes (PostgreSQL rejects them)."""

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from ninja import Field, Schema
from ninja.schema import DjangoGetter
from pydantic import (
    AfterValidator,
    BeforeValidator,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from platform_core.openapi import ENUMS


def _has_nul(value: Any, depth: int = 0) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if depth > 20:
        return False
    if isinstance(value, dict):
        return any(_has_nul(k, depth + 1) or _has_nul(v, depth + 1) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v, depth + 1) for v in value)
    return False


def _valid_email(value: str) -> str:
    try:
        validate_email(value)
    except DjangoValidationError:
        raise ValueError("Enter a valid email address.") from None
    return value


def not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("Must not be blank.")
    return value.strip()


# Field types shared by the input schemas.
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254),
    AfterValidator(_valid_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": 254}),
]


# Whitespace as Rust's str::trim() sees it (pydantic's `strip_whitespace`), and as
# Python's str.strip() does (the same plus U+001C..U+001F), in ECMA 262 syntax.
RUST_SPACE = "\\t\\n\\x0b\\x0c\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
PYTHON_SPACE = RUST_SPACE + "\\x1c-\\x1f"


def not_blank_pattern(*, space: str = PYTHON_SPACE, forbidden: str = "\\x00") -> str:
    """The OpenAPI `pattern` of text that is not only whitespace and holds none of `forbidden`."""
    return f"^[^{forbidden}]*[^{forbidden}{space}][^{forbidden}]*$"


NOT_BLANK = not_blank_pattern()


def documented_pattern(pattern: str) -> Any:
    """States a rule the validators enforce (with their own messages) in the schema only."""
    return Field(json_schema_extra={"pattern": pattern})


def Name(max_length: int) -> Any:  # noqa: N802 - a type factory (mypy: annotate uses with `# type: ignore[valid-type]`)
    """Text of 1..max_length characters, not only spaces, stripped."""
    return Annotated[
        str,
        StringConstraints(min_length=1, max_length=max_length),
        AfterValidator(not_blank),
        documented_pattern(NOT_BLANK),
    ]


_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def _rfc3339_text(value: Any) -> Any:
    """Timestamps are RFC 3339 text: never a JSON number, nor a string of one
    (pydantic would read both as seconds since 1970)."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or _NUMBER.fullmatch(value):
        raise ValueError("Enter a date and time in RFC 3339 format, for example 2026-01-31T09:30:00Z.")
    return value


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # API.md: timestamps are UTC
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("This date is out of range.") from None


# An RFC 3339 timestamp in a body or query string, taken as UTC when naive.
Timestamp = Annotated[datetime, BeforeValidator(_rfc3339_text), AfterValidator(_utc)]
def _json_integer(value: Any) -> Any:
    """A JSON integer: `3` or `3.0` (JSON Schema's `integer` admits both), never
    `true`/`false`, `3.5` or `"3"`."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("Enter a whole number.")
    return value


# An integer in a JSON body (422 for anything else; no coercion of booleans or strings):
# `Annotated[int, Field(...constraints), JSON_INTEGER]` (constraints first keep them in the schema).
JSON_INTEGER = BeforeValidator(_json_integer)
StrictInt = Annotated[int, JSON_INTEGER]


def _named_enum(name: str) -> Any:
    """A str field documented as the named enum (platform_core.openapi.ENUMS) it always holds."""
    return Annotated[str, WithJsonSchema({"type": "string", "enum": ENUMS[name]})]


# Output fields holding one of a fixed set of values (documented as named enums).
RoleName = _named_enum("Role")
InviteStatusName = _named_enum("InviteStatus")
OrgStatusName = _named_enum("OrgStatus")


class InputSchema(Schema):
    @model_validator(mode="before")
    @classmethod
    def _object_only(cls, data: Any) -> Any:
        """Input is a JSON object: never read a string's or list's attributes as fields."""
        raw = data._obj if isinstance(data, DjangoGetter) else data
        if not isinstance(raw, dict | Schema):
            raise ValueError("Expected a JSON object.")
        return data

    @field_validator("*", mode="after")
    @classmethod
    def _clean(cls, value: Any) -> Any:
        if _has_nul(value):
            raise ValueError("Text must not contain NUL characters.")
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # API.md: timestamps are UTC
        return value


class ErrorOut(Schema):
    code: str
    detail: str


class ValidationErrorItem(Schema):
    loc: list[str | int]
    msg: str


class ValidationErrorOut(ErrorOut):
    errors: list[ValidationErrorItem]


# Error responses every operation may answer (documented in the OpenAPI schema).
ERRORS_AUTH = {401: ErrorOut, 403: ErrorOut, 413: ErrorOut, 422: ValidationErrorOut, 429: ErrorOut}
ERRORS_OBJECT = {**ERRORS_AUTH, 404: ErrorOut}
