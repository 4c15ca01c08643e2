"""The two APIs: one for the root host, one for organization hosts.

Each app contributes a Ninja Router; this module mounts them and maps every
exception to the error envelope of API.md.
"""

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Router
from ninja.errors import AuthenticationError, HttpError, ValidationError

from platform_core.errors import (
    DATABASE_UNAVAILABLE,
    AppError,
    database_unavailable,
    envelope,
    error_response,
)

# Wiring: the one framework module that names the apps' routers (imported by
# the URL confs only; see [tool.importlinter] in pyproject.toml).
from provisioning.api import orgs_router as provisioning_orgs_router
from provisioning.api import router as platform_router
from shared_apps.accounts.api import router as accounts_router
from tenant_apps.audit.api import router as audit_router
from tenant_apps.boards.api import router as boards_router
from tenant_apps.boards.live import router as live_router
from tenant_apps.invites.api import router as invites_router
from tenant_apps.members.api import router as members_router
from tenant_apps.tokens.api import router as tokens_router

log = logging.getLogger("platform_core.api")


def _validation_errors(exc: ValidationError) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    for error in exc.errors:
        loc = [part for part in error.get("loc", []) if part not in ("__root__",)]
        errors.append({"loc": loc, "msg": str(error.get("msg", "Invalid value."))})
    return errors


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(AppError)
    def app_error(request: HttpRequest, exc: AppError) -> HttpResponse:
        return error_response(exc)

    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return envelope(422, "validation_error", "Invalid input.", errors=_validation_errors(exc))

    @api.exception_handler(AuthenticationError)
    def authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return envelope(401, "not_authenticated", "Authentication credentials are missing or invalid.")

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if exc.status_code == 400 and "parse request body" in str(exc):
            return envelope(400, "invalid_json", "The request body is not valid JSON.")
        return envelope(exc.status_code, detail=str(exc))

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return envelope(404, "not_found", "Not found.")

    @api.exception_handler(RequestDataTooBig)
    def too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        return envelope(413, "payload_too_large", "Request body is too large.")

    @api.exception_handler(Exception)
    def server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
        if isinstance(exc.__cause__, RequestDataTooBig):
            return envelope(413, "payload_too_large", "Request body is too large.")
        if isinstance(exc, DATABASE_UNAVAILABLE):
            return database_unavailable()
        log.exception("unhandled error")
        return envelope(500, "server_error", "Internal server error.")


ENVELOPE_SCHEMA = {
    "type": "object",
    "required": ["code", "detail"],
    "properties": {"code": {"type": "string"}, "detail": {"type": "string"}},
}


def _envelope_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ENVELOPE_SCHEMA}}}


class EnvelopeAPI(NinjaAPI):
    """Documents the answers every operation can give besides its own: the
    error envelope for malformed JSON (400) and oversized bodies (413) on
    operations with a body, and 500 on all."""

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(**kwargs)
        for operations in schema["paths"].values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                if "requestBody" in operation:
                    responses.setdefault("400", _envelope_response("Malformed JSON (`invalid_json`)"))
                    responses.setdefault("413", _envelope_response("Request body too large"))
                responses.setdefault("500", _envelope_response("Internal server error"))
        return schema


def build_api(*, namespace: str, title: str, routers: list[tuple[str, Router]]) -> NinjaAPI:
    api = EnvelopeAPI(
        title=title,
        version="1.0.0",
        urls_namespace=namespace,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    install_error_handlers(api)
    for prefix, router in routers:
        api.add_router(prefix, router)
    return api


def _public_routers() -> list[tuple[str, Router]]:
    return [("", accounts_router), ("", provisioning_orgs_router), ("/platform", platform_router)]


def _tenant_routers() -> list[tuple[str, Router]]:
    return [
        ("", members_router),
        ("", invites_router),
        ("", boards_router),
        ("", audit_router),
        ("", live_router),
        ("", tokens_router),
    ]


public_api = build_api(namespace="public_api", title="TaskHub platform API", routers=_public_routers())
tenant_api = build_api(namespace="tenant_api", title="TaskHub organization API", routers=_tenant_routers())
