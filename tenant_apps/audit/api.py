from datetime import datetime
from typing import Any
from uuid import UUID

from ninja import Field, Query, Router, Schema

from platform_core.auth import member_auth
from platform_core.http import OrgRequest
from platform_core.pagination import Page, PageQuery
from platform_core.permissions import Action, requires
from platform_core.schemas import ERRORS_AUTH, InputSchema, Timestamp
from tenant_apps.audit.selectors import audit_events_page

router = Router(tags=["audit"], auth=member_auth)


class AuditFilters(InputSchema):
    actor_id: UUID | None = None
    action: str | None = Field(None, max_length=64)
    target_type: str | None = Field(None, max_length=32)
    target_id: UUID | None = None
    since: Timestamp | None = None
    until: Timestamp | None = None


class AuditEventOut(Schema):
    id: UUID
    at: datetime
    actor_id: UUID | None
    token_id: UUID | None = None
    action: str
    target_type: str
    target_id: UUID | None
    changes: dict[str, Any]
    request_id: str | None


@router.get("/audit", response={200: Page[AuditEventOut], **ERRORS_AUTH})
@requires(Action.AUDIT_READ)
def audit_list(request: OrgRequest, filters: Query[AuditFilters], page: Query[PageQuery]):
    return audit_events_page(**filters.dict(), limit=page.limit, cursor=page.cursor)
