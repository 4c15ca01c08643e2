"""Organizations: creating and listing them (root host); the organization and
its members (organization hosts)."""

from uuid import UUID

from django.http import HttpRequest
from ninja import Query, Router, Status

from platform_core.auth import jwt_auth, member_auth
from platform_core.errors import NotFound
from platform_core.pagination import Page, PageQuery
from platform_core.permissions import Action, requires
from platform_core.schemas import ERRORS_AUTH, ERRORS_OBJECT, ErrorOut
from provisioning.services import org_provision
from shared_apps.accounts.models import User
from shared_apps.accounts.schemas import MembershipOut
from shared_apps.orgs import services
from shared_apps.orgs.schemas import MemberOut, MemberUpdateIn, OrgCreateIn, OrgOut, OrgUpdateIn
from shared_apps.orgs.selectors import member_get, org_members_page, user_memberships

public_router = Router(tags=["organizations"], auth=jwt_auth)
tenant_router = Router(tags=["organization"], auth=member_auth)


# --- root host ------------------------------------------------------------------


@public_router.post("/orgs", response={201: OrgOut, 409: ErrorOut, **ERRORS_AUTH})
@requires(Action.ACCOUNT_ORG_CREATE)
def org_create(request: HttpRequest, payload: OrgCreateIn):
    """Create an organization owned by the caller. Quotas: MAX_ORGS_PER_USER live
    organizations owned or created (403 `quota_exceeded`), ORG_CREATE_RATE
    creations per ORG_CREATE_RATE_WINDOW seconds (429 with Retry-After)."""
    owner = User.objects.get(id=request.auth.id)
    org = org_provision(owner=owner, name=payload.name, slug=payload.slug, enforce_quota=True)
    return Status(
        201, {"id": org.id, "slug": org.slug, "name": org.name, "domain": org.primary_domain, "role": "owner"}
    )


@public_router.get("/orgs", response={200: list[MembershipOut], **ERRORS_AUTH})
@requires(Action.ACCOUNT_ORG_LIST)
def org_list(request: HttpRequest):
    return user_memberships(user_id=request.auth.id)


# --- organization host ------------------------------------------------------------


def _org_out(request: HttpRequest, name: str | None = None) -> dict:
    org = request.tenant
    return {
        "id": org.id, "slug": org.slug, "name": name or org.name, "domain": org.primary_domain,
        "role": request.actor.role,
    }


@tenant_router.get("/org", response={200: OrgOut, **ERRORS_AUTH})
@requires(Action.ORG_READ)
def org_detail(request: HttpRequest):
    return _org_out(request)


@tenant_router.patch("/org", response={200: OrgOut, **ERRORS_AUTH})
@requires(Action.ORG_UPDATE)
def org_rename(request: HttpRequest, payload: OrgUpdateIn):
    org = services.org_update(actor=request.actor, org_id=request.tenant.id, name=payload.name)
    return _org_out(request, name=org.name)


@tenant_router.get("/members", response={200: Page[MemberOut], **ERRORS_AUTH})
@requires(Action.MEMBER_READ)
def member_list(request: HttpRequest, page: Query[PageQuery]):
    return org_members_page(org_id=request.tenant.id, limit=page.limit, cursor=page.cursor)


def access_member(request: HttpRequest, user_id: UUID):
    membership = member_get(org_id=request.tenant.id, user_id=user_id)
    if membership is None:
        raise NotFound("No such member.")
    return membership


@tenant_router.patch("/members/{user_id}", response={200: MemberOut, 409: ErrorOut, **ERRORS_OBJECT})
@requires(Action.MEMBER_CHANGE_ROLE, per_object=True)
def member_update(request: HttpRequest, user_id: UUID, payload: MemberUpdateIn):
    membership = access_member(request, user_id)
    return services.member_change_role(actor=request.actor, membership=membership, role=payload.role)


@tenant_router.delete("/members/{user_id}", response={204: None, 409: ErrorOut, **ERRORS_OBJECT})
@requires(Action.MEMBER_REMOVE, per_object=True)
def member_delete(request: HttpRequest, user_id: UUID):
    membership = access_member(request, user_id)
    services.member_remove(actor=request.actor, membership=membership)
    return Status(204, None)
