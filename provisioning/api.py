"""Operator endpoints (`/api/v1/platform/...` on the root host). Operators are
users with `is_staff`; `operator_auth` answers 403 to anyone else.

Also `POST /orgs` and `GET /orgs` (root host, any signed-in user): creating an
organization provisions its schema, so the router lives here, on top of the
layers (`orgs_router`)."""

from ninja import Query, Router, Status

from platform_core.auth import jwt_auth, operator_auth
from platform_core.http import AppRequest
from platform_core.pagination import Page, PageQuery
from platform_core.permissions import Action, requires
from platform_core.schemas import ERRORS_AUTH, ERRORS_OBJECT, ErrorOut
from provisioning import selectors, services
from provisioning.schemas import (
    PlatformOrgCreateIn,
    PlatformOrgListQuery,
    PlatformOrgOut,
    PlatformOrgUpdateIn,
)
from shared_apps.accounts.models import User
from shared_apps.accounts.schemas import MembershipOut
from shared_apps.orgs.schemas import OrgCreateIn, OrgOut
from shared_apps.orgs.selectors import user_memberships

router = Router(tags=["platform"], auth=operator_auth)


@router.get("/orgs", response={200: Page[PlatformOrgOut], **ERRORS_AUTH})
@requires(Action.PLATFORM_ORG_READ)
def platform_org_list(
    request: AppRequest, page: Query[PageQuery], filters: Query[PlatformOrgListQuery]
):
    return selectors.platform_orgs_page(status=filters.status, limit=page.limit, cursor=page.cursor)


@router.post("/orgs", response={201: PlatformOrgOut, 409: ErrorOut, **ERRORS_AUTH})
@requires(Action.PLATFORM_ORG_CREATE)
def platform_org_create(request: AppRequest, payload: PlatformOrgCreateIn):
    org = services.org_provision_for_email(
        owner_email=payload.owner_email,
        name=payload.name,
        slug=payload.slug,
        actor_id=request.auth.id,
        via="api",
    )
    return Status(201, selectors.platform_org_refresh(org))


@router.get("/orgs/{slug}", response={200: PlatformOrgOut, **ERRORS_OBJECT})
@requires(Action.PLATFORM_ORG_READ)
def platform_org_detail(request: AppRequest, slug: str):
    return selectors.platform_org_detail(slug=slug)


@router.patch("/orgs/{slug}", response={200: PlatformOrgOut, 409: ErrorOut, **ERRORS_OBJECT})
@requires(Action.PLATFORM_ORG_UPDATE)
def platform_org_update(request: AppRequest, slug: str, payload: PlatformOrgUpdateIn):
    org = services.org_get_for_operator(slug=slug)
    org = services.org_rename(
        org=org, actor_id=request.auth.id, slug=payload.slug, name=payload.name, via="api"
    )
    return selectors.platform_org_refresh(org)


@router.post("/orgs/{slug}/suspend", response={200: PlatformOrgOut, **ERRORS_OBJECT})
@requires(Action.PLATFORM_ORG_SUSPEND)
def platform_org_suspend(request: AppRequest, slug: str):
    org = services.org_suspend(
        org=services.org_get_for_operator(slug=slug), actor_id=request.auth.id, via="api"
    )
    return selectors.platform_org_refresh(org)


@router.post("/orgs/{slug}/resume", response={200: PlatformOrgOut, **ERRORS_OBJECT})
@requires(Action.PLATFORM_ORG_SUSPEND)
def platform_org_resume(request: AppRequest, slug: str):
    org = services.org_resume(
        org=services.org_get_for_operator(slug=slug), actor_id=request.auth.id, via="api"
    )
    return selectors.platform_org_refresh(org)


@router.delete("/orgs/{slug}", response={204: None, **ERRORS_OBJECT})
@requires(Action.PLATFORM_ORG_DELETE)
def platform_org_delete(request: AppRequest, slug: str):
    services.org_delete(
        org=services.org_get_for_operator(slug=slug), actor_id=request.auth.id, via="api"
    )
    return Status(204, None)


# --- organizations of the caller (root host, any signed-in user) ----------------------

orgs_router = Router(tags=["organizations"], auth=jwt_auth)


@orgs_router.post("/orgs", response={201: OrgOut, 409: ErrorOut, **ERRORS_AUTH})
@requires(Action.ACCOUNT_ORG_CREATE)
def org_create(request: AppRequest, payload: OrgCreateIn):
    """Create an organization owned by the caller. Quotas: MAX_ORGS_PER_USER live
    organizations owned or created (403 `quota_exceeded`), ORG_CREATE_RATE
    creations per ORG_CREATE_RATE_WINDOW seconds (429 with Retry-After)."""
    owner = User.objects.get(id=request.auth.id)
    org = services.org_provision(owner=owner, name=payload.name, slug=payload.slug, enforce_quota=True)
    return Status(
        201, {"id": org.id, "slug": org.slug, "name": org.name, "domain": org.primary_domain, "role": "owner"}
    )


@orgs_router.get("/orgs", response={200: list[MembershipOut], **ERRORS_AUTH})
@requires(Action.ACCOUNT_ORG_LIST)
def org_list(request: AppRequest):
    return user_memberships(user_id=request.auth.id)
