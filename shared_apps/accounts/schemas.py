from uuid import UUID

from ninja import Field, Schema

from platform_core.schemas import Email, InputSchema, Name, RoleName


class SignupIn(InputSchema):
    email: Email
    password: str = Field(..., min_length=1, max_length=128)
    name: Name(150)  # type: ignore[valid-type]  # a str (pydantic type factory)


class UserOut(Schema):
    id: UUID
    email: str
    name: str


class TokenIn(InputSchema):
    email: str = Field(..., min_length=1, max_length=254)
    password: str = Field(..., min_length=1, max_length=128)


class RefreshIn(InputSchema):
    refresh: str = Field(..., min_length=1, max_length=4096)


class TokenPairOut(Schema):
    access: str
    refresh: str


class OrgRefOut(Schema):
    id: UUID
    slug: str
    name: str
    domain: str


class MembershipOut(Schema):
    org: OrgRefOut
    role: RoleName


class MeOut(UserOut):
    memberships: list[MembershipOut]
