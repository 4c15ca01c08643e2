from datetime import datetime
from uuid import UUID

from ninja import Field, Schema

from platform_core.schemas import InputSchema, Name
from shared_apps.accounts.schemas import UserOut
from shared_apps.orgs.validation import SLUG_RE


class OrgCreateIn(InputSchema):
    name: Name(100)
    slug: str = Field(..., pattern=SLUG_RE.pattern, description="Also not a reserved word (422).")


class OrgUpdateIn(InputSchema):
    name: Name(100)


class OrgOut(Schema):
    id: UUID
    slug: str
    name: str
    domain: str
    role: str


class MemberOut(Schema):
    user: UserOut
    role: str
    joined_at: datetime


class MemberUpdateIn(InputSchema):
    role: str = Field(..., pattern="^(owner|admin|member)$")
