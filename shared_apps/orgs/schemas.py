from datetime import datetime
from typing import Annotated
from uuid import UUID

from ninja import Field, Schema
from pydantic import AfterValidator, StringConstraints, WithJsonSchema

from platform_core.schemas import InputSchema, RoleName, not_blank_pattern
from shared_apps.accounts.schemas import UserOut
from shared_apps.orgs.validation import ORG_NAME_FORBIDDEN, ORG_NAME_MESSAGE, SLUG_RE, org_name_is_clean

ORG_NAME_RULE = (
    "1-100 characters, not only spaces; no control characters (U+0000-U+001F, U+007F-U+009F), "
    "line or paragraph separators (U+2028, U+2029) or bidirectional overrides (U+202A-U+202E, "
    "U+2066-U+2069): 422."
)


def _clean_org_name(value: str) -> str:
    """No control characters, line breaks or bidi overrides (checked before
    stripping, so a leading line break is refused too), not only spaces; stripped."""
    if not org_name_is_clean(value):
        raise ValueError(ORG_NAME_MESSAGE)
    if not value.strip():
        raise ValueError("Must not be blank.")
    return value.strip()


# Like platform_core.schemas.Name(100), plus the control-character rule (422),
# stated in words and as a `pattern` (not only spaces, none of the forbidden characters).
OrgName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100),
    AfterValidator(_clean_org_name),
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 1,
            "maxLength": 100,
            "pattern": not_blank_pattern(forbidden=ORG_NAME_FORBIDDEN),
            "description": ORG_NAME_RULE,
        }
    ),
]


class OrgCreateIn(InputSchema):
    name: OrgName
    slug: str = Field(..., pattern=SLUG_RE.pattern, description="Also not a reserved word (422).")


class OrgUpdateIn(InputSchema):
    name: OrgName


class OrgOut(Schema):
    id: UUID
    slug: str
    name: str
    domain: str
    role: RoleName


class MemberOut(Schema):
    user: UserOut
    role: RoleName
    joined_at: datetime


class MemberUpdateIn(InputSchema):
    role: str = Field(..., pattern="^(owner|admin|member)$")
