from datetime import datetime
from typing import Annotated
from uuid import UUID

from ninja import Field, Schema

from platform_core.permissions import Scope
from platform_core.schemas import InputSchema, Name


class TokenCreateIn(InputSchema):
    name: Name(100)  # type: ignore[valid-type]
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=4)]
    expires_in_days: int | None = Field(None, ge=1, le=3650, strict=True)


class TokenOut(Schema):
    id: UUID
    name: str
    scopes: list[Scope]
    prefix: str
    expires_at: datetime | None
    last_used_at: datetime | None
    created_at: datetime


class TokenCreatedOut(Schema):
    id: UUID
    name: str
    scopes: list[Scope]
    prefix: str
    token: str = Field(
        description="The secret, shown only in this response; send it as `Authorization: Bearer <token>`."
    )
    expires_at: datetime | None
    created_at: datetime


class TokenFilters(InputSchema):
    all: bool = Field(False, description="Everyone's tokens (owners and admins).")
