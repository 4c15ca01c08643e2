"""The organization and its members, on organization hosts: `GET/PATCH /org`,
`GET /members`, `PATCH/DELETE /members/{user_id}`. The rows live in the
public schema; these handlers go through shared_apps.orgs' services and
selectors, always filtered by the host's organization."""

from uuid import UUID

from django.http import HttpResponse
from ninja import Query, Router, Status

from platform_core.auth import member_auth
from platform_core.errors import NotFound
from platform_core.etags import conditional_get, if_match
from platform_core.http import OrgRequest
from platform_core.pagination import Page, PageQuery
from platform_core.permissions import Action, requires
from platform_core.schemas import ERRORS_AUTH, ERRORS_OBJECT, ErrorOut
from shared_apps.orgs import services
from shared_apps.orgs.schemas import MemberOut, MemberUpdateIn, OrgOut, OrgUpdateIn
from shared_apps.orgs.selectors import member_get, org_members_page

router = Router(tags=["organization"], auth=member_auth)


def _org_out(request: OrgRequest, name: str | None = None) -> dict:
    org = request.tenant
    return {
        "id": org.id, "slug": org.slug, "name": name or org.name, "domain": org.primary_domain,
        "role": request.actor.role,
    }


@router.get("/org", response={200: OrgOut, 304: None, **ERRORS_AUTH})
@requires(Action.ORG_READ)
def org_detail(request: OrgRequest, response: HttpResponse):
    return conditional_get(request, response, request.tenant) or _org_out(request)


@router.patch("/org", response={200: OrgOut, 412: ErrorOut, **ERRORS_AUTH})
@requires(Action.ORG_UPDATE)
def org_rename(request: OrgRequest, payload: OrgUpdateIn):
    with if_match(request, request.tenant):
        org = services.org_update(actor=request.actor, org_id=request.tenant.id, name=payload.name)
    return _org_out(request, name=org.name)


@router.get("/members", response={200: Page[MemberOut], **ERRORS_AUTH})
@requires(Action.MEMBER_READ)
def member_list(request: OrgRequest, page: Query[PageQuery]):
    return org_members_page(org_id=request.tenant.id, limit=page.limit, cursor=page.cursor)


def access_member(request: OrgRequest, user_id: UUID):
    membership = member_get(org_id=request.tenant.id, user_id=user_id)
    if membership is None:
        raise NotFound("No such member.")
    return membership


@router.patch("/members/{user_id}", response={200: MemberOut, 409: ErrorOut, **ERRORS_OBJECT})
@requires(Action.MEMBER_CHANGE_ROLE, per_object=True)
def member_update(request: OrgRequest, user_id: UUID, payload: MemberUpdateIn):
    membership = access_member(request, user_id)
    return services.member_change_role(actor=request.actor, membership=membership, role=payload.role)


@router.delete("/members/{user_id}", response={204: None, 409: ErrorOut, **ERRORS_OBJECT})
@requires(Action.MEMBER_REMOVE, per_object=True)
def member_delete(request: OrgRequest, user_id: UUID):
    membership = access_member(request, user_id)
    services.member_remove(actor=request.actor, membership=membership)
    return Status(204, None)
