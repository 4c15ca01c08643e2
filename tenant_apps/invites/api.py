"""Invitations (organization host). Managers create, list and revoke them;
`POST /invites/accept` is for any signed-in user holding a token (they are
not a member yet), so it uses `jwt_auth` instead of the router's `member_auth`."""

from uuid import UUID

from ninja import Query, Router, Status

from platform_core.auth import jwt_auth, member_auth
from platform_core.errors import NotFound
from platform_core.http import OrgRequest
from platform_core.pagination import Page, PageQuery
from platform_core.permissions import Action, requires
from platform_core.schemas import ERRORS_AUTH, ERRORS_OBJECT, ErrorOut
from shared_apps.orgs.selectors import org_ref
from tenant_apps.invites import services
from tenant_apps.invites.models import Invite
from tenant_apps.invites.schemas import (
    InviteAcceptIn,
    InviteAcceptOut,
    InviteCreateIn,
    InviteFilters,
    InviteOut,
)
from tenant_apps.invites.selectors import invite_get, invites_page

router = Router(tags=["invites"], auth=member_auth)


def access_invite(request: OrgRequest, invite_id: UUID) -> Invite:
    """The invite of this organization (this schema), or 404."""
    invite = invite_get(invite_id=invite_id)
    if invite is None:
        raise NotFound("No such invite.")
    return invite


# Declared before `/invites/{invite_id}` so the literal path wins.
@router.post(
    "/invites/accept",
    auth=jwt_auth,
    response={200: InviteAcceptOut, 409: ErrorOut, 410: ErrorOut, **ERRORS_OBJECT},
)
@requires(Action.INVITE_ACCEPT)
def invite_accept(request: OrgRequest, payload: InviteAcceptIn):
    """Join this organization with the invite's role. Any signed-in user whose
    email matches the invite (case-insensitive). Unknown token: 404; used,
    revoked or expired: 410; another email: 403; already a member: 409
    `already_member` (the invite stays pending and nothing changes)."""
    membership = services.invite_accept(user=request.auth, org=request.tenant, token=payload.token)
    return {"org": org_ref(request.tenant), "role": membership.role}


@router.post("/invites", response={201: InviteOut, 409: ErrorOut, **ERRORS_AUTH})
@requires(Action.INVITE_CREATE)
def invite_create(request: OrgRequest, payload: InviteCreateIn):
    """Invite an email with a role; the token goes out by email only. A pending
    invite for the same email is replaced (revoked). Only owners may invite
    owners; inviting a current member: 409 `already_member`."""
    invite = services.invite_create(
        actor=request.actor, org_id=request.tenant.id, email=payload.email, role=payload.role
    )
    return Status(201, invite)


@router.get("/invites", response={200: Page[InviteOut], **ERRORS_AUTH})
@requires(Action.INVITE_READ)
def invite_list(request: OrgRequest, filters: Query[InviteFilters], page: Query[PageQuery]):
    """Pending and past invites, newest first; `status` filters
    (pending, accepted, revoked, expired)."""
    return invites_page(status=filters.status, limit=page.limit, cursor=page.cursor)


@router.delete("/invites/{invite_id}", response={204: None, 409: ErrorOut, **ERRORS_OBJECT})
@requires(Action.INVITE_REVOKE)
def invite_revoke(request: OrgRequest, invite_id: UUID):
    """Revoke a pending or expired invite: 204. Already revoked: 204, no change.
    Accepted: 409 `invite_accepted` (remove the member instead)."""
    invite = access_invite(request, invite_id)
    services.invite_revoke(actor=request.actor, invite=invite)
    return Status(204, None)
