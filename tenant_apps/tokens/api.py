"""API tokens of the organization host: create (secret shown once), list, revoke."""

from uuid import UUID

from ninja import Query, Router, Status

from platform_core.auth import member_auth
from platform_core.http import OrgRequest
from platform_core.pagination import Page, PageQuery
from platform_core.permissions import Action, authorize, requires
from platform_core.schemas import ERRORS_AUTH, ERRORS_OBJECT
from tenant_apps.tokens import selectors, services
from tenant_apps.tokens.schemas import TokenCreatedOut, TokenCreateIn, TokenFilters, TokenOut

router = Router(tags=["tokens"], auth=member_auth)


@router.post("/tokens", response={201: TokenCreatedOut, **ERRORS_AUTH})
@requires(Action.TOKEN_CREATE)
def token_create(request: OrgRequest, payload: TokenCreateIn):
    token, raw = services.token_create(
        actor=request.actor,
        name=payload.name,
        scopes=[str(scope) for scope in payload.scopes],
        expires_in_days=payload.expires_in_days,
    )
    return Status(
        201,
        {
            "id": token.id,
            "name": token.name,
            "scopes": token.scopes,
            "prefix": token.prefix,
            "token": raw,
            "expires_at": token.expires_at,
            "created_at": token.created_at,
        },
    )


@router.get("/tokens", response={200: Page[TokenOut], **ERRORS_AUTH})
@requires(Action.TOKEN_READ)
def token_list(request: OrgRequest, filters: Query[TokenFilters], page: Query[PageQuery]):
    if filters.all:
        authorize(request.actor, Action.TOKEN_READ_ALL)
    return selectors.tokens_page(
        user_id=None if filters.all else request.actor.user_id, limit=page.limit, cursor=page.cursor
    )


@router.delete("/tokens/{token_id}", response={204: None, **ERRORS_OBJECT})
@requires(Action.TOKEN_REVOKE, per_object=True)
def token_revoke(request: OrgRequest, token_id: UUID):
    token = selectors.access_token(token_id)
    authorize(request.actor, Action.TOKEN_REVOKE, token)
    services.token_revoke(actor=request.actor, token=token)
    return Status(204, None)
