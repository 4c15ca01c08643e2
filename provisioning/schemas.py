from datetime import datetime
from uuid import UUID

from ninja import Field, Schema
from pydantic import model_validator

from platform_core.schemas import InputSchema, Name, OrgStatusName


class PlatformOrgOut(Schema):
    id: UUID
    slug: str | None
    name: str
    status: OrgStatusName
    domain: str | None = Field(None, description="The organization's own host; null once deleted.")
    member_count: int
    created_at: datetime
    deleted_at: datetime | None
    deleted_slug: str | None = Field(None, description="The slug a deleted organization had.")
    schema_dropped_at: datetime | None
    schema_size: int | None = Field(
        None,
        description="Bytes used by the organization's schema (tables, indexes, TOAST); null once dropped.",
    )

    @staticmethod
    def resolve_domain(obj) -> str | None:
        return obj.primary_domain or None

    @staticmethod
    def resolve_deleted_slug(obj) -> str | None:
        return obj.deleted_slug or None


class PlatformOrgCreateIn(InputSchema):
    owner_email: str = Field(..., min_length=3, max_length=254, description="An existing user's email.")
    name: Name(100)  # type: ignore[valid-type]  # a str (pydantic type factory)
    slug: str = Field(..., min_length=1, max_length=64)


class PlatformOrgUpdateIn(InputSchema):
    slug: str | None = Field(None, min_length=1, max_length=64)
    name: Name(100) | None = None  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _one_of(self):
        if self.slug is None and self.name is None:
            raise ValueError("Give a new slug or name.")
        return self


class PlatformOrgListQuery(Schema):
    status: str | None = Field(
        None,
        pattern="^(active|suspended|deleted|spare)$",
        description="Only organizations with this status (default: active, suspended and deleted).",
    )
