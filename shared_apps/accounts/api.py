"""Root host: sign-up, tokens, logout, the caller's profile."""

from ninja import Router, Status

from platform_core.auth import jwt_auth
from platform_core.context import current_client_ip
from platform_core.http import AppRequest
from platform_core.permissions import Action, requires
from platform_core.schemas import ERRORS_AUTH, ErrorOut, ValidationErrorOut
from shared_apps.accounts import services
from shared_apps.accounts.schemas import MeOut, RefreshIn, SignupIn, TokenIn, TokenPairOut, UserOut
from shared_apps.orgs.selectors import user_memberships

router = Router(tags=["auth"])


@router.post(
    "/auth/signup",
    response={201: UserOut, 409: ErrorOut, 422: ValidationErrorOut, 429: ErrorOut, 503: ErrorOut},
)
@requires(Action.ACCOUNT_SIGNUP)
def signup(request: AppRequest, payload: SignupIn):
    user = services.user_signup(
        email=payload.email, password=payload.password, name=payload.name, client_ip=current_client_ip()
    )
    return Status(201, user)


@router.post(
    "/auth/token",
    response={200: TokenPairOut, 401: ErrorOut, 422: ValidationErrorOut, 429: ErrorOut, 503: ErrorOut},
)
@requires(Action.ACCOUNT_TOKEN)
def token(request: AppRequest, payload: TokenIn):
    return services.token_obtain(email=payload.email, password=payload.password, client_ip=current_client_ip())


@router.post("/auth/token/refresh", response={200: TokenPairOut, 401: ErrorOut, 422: ValidationErrorOut})
@requires(Action.ACCOUNT_TOKEN)
def token_refresh(request: AppRequest, payload: RefreshIn):
    return services.token_refresh(raw=payload.refresh)


@router.post("/auth/logout", auth=jwt_auth, response={204: None, **ERRORS_AUTH})
@requires(Action.ACCOUNT_LOGOUT)
def logout(request: AppRequest, payload: RefreshIn):
    services.logout(user_id=request.auth.id, raw_refresh=payload.refresh)
    return Status(204, None)


@router.get("/me", auth=jwt_auth, response={200: MeOut, **ERRORS_AUTH})
@requires(Action.ACCOUNT_READ)
def me(request: AppRequest):
    user = request.auth
    return {"id": user.id, "email": user.email, "name": user.name, "memberships": user_memberships(user_id=user.id)}
