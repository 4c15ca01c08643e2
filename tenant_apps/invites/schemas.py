from datetime import datetime
from typing import Literal
from uuid import UUID

from ninja import Field, Schema

from platform_core.schemas import Email, InputSchema, InviteStatusName, RoleName


class InviteCreateIn(InputSchema):
    email: Email
    role: str = Field(..., pattern="^(owner|admin|member)$")


class InviteFilters(InputSchema):
    status: Literal["pending", "accepted", "revoked", "expired"] | None = None


class InviteOut(Schema):
    """Never carries the token (it exists only in the invite email)."""

    id: UUID
    email: str
    role: RoleName
    status: InviteStatusName
    expires_at: datetime
    created_at: datetime
    invited_by: UUID | None = Field(None, description="User id of the inviter.")


class InviteAcceptIn(InputSchema):
    token: str = Field(..., min_length=1, max_length=256)


class OrgRefOut(Schema):
    id: UUID
    slug: str
    name: str
    domain: str


class InviteAcceptOut(Schema):
    org: OrgRefOut
    role: RoleName
