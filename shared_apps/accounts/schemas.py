from uuid import UUID

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from ninja import Field, Schema
from pydantic import field_validator

from platform_core.schemas import InputSchema


class SignupIn(InputSchema):
    email: str = Field(..., max_length=254, json_schema_extra={"format": "email"})
    password: str = Field(..., min_length=1, max_length=128)
    name: str = Field(..., min_length=1, max_length=150)

    @field_validator("email")
    @classmethod
    def _valid_email(cls, value: str) -> str:
        try:
            validate_email(value)
        except ValidationError:
            raise ValueError("Enter a valid email address.") from None
        return value

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("Name must not be blank.")
        return value.strip()


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
    role: str


class MeOut(UserOut):
    memberships: list[MembershipOut]
