"""The two APIs: one for the root host, one for organization hosts.

Each app contributes a Ninja Router; this module mounts them and maps every
exception to the error envelope of API.md.
"""

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI, Router, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.operation import Operation

from platform_core.errors import (
    DATABASE_UNAVAILABLE,
    AppError,
    database_unavailable,
    envelope,
    error_response,
)
from platform_core.openapi import finish_schema, operation_id_and_tag

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
        msg = str(error.get("msg", "Invalid value."))
        # pydantic prefixes our validators' sentences with their exception's kind
        msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        errors.append({"loc": loc, "msg": msg})
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


class EnvelopeAPI(NinjaAPI):
    """A NinjaAPI whose OpenAPI document is exact (platform_core.openapi):
    short operation ids, one tag per resource, one error schema, named enums."""

    def __init__(self, *args: Any, org_host: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.org_host = org_host
        self._tags: dict[str, str] = {}

    def get_openapi_operation_id(self, operation: Operation) -> str:
        operation_id, tag = operation_id_and_tag(operation.view_func.__name__, org_host=self.org_host)
        self._tags[operation_id] = tag
        return operation_id

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(**kwargs)
        for operations in schema["paths"].values():
            for operation in operations.values():
                operation["tags"] = [self._tags.get(operation["operationId"], "other")]
        return finish_schema(schema, org_host=self.org_host, servers=self.server_list())

    def server_list(self, *, from_org_host: bool = True) -> list[dict[str, Any]]:
        if not self.org_host:
            return [{"url": "/", "description": "The root host"}]
        here = [{"url": "/", "description": "This organization's host"}] if from_org_host else []
        return [*here, org_host_server()]


def org_host_server() -> dict[str, Any]:
    return {
        "url": "{scheme}://{slug}." + settings.BASE_DOMAIN,
        "description": "An organization's host",
        "variables": {
            "scheme": {"enum": ["https", "http"], "default": "https"},
            "slug": {"default": "acme", "description": "The organization's slug."},
        },
    }


def build_api(*, namespace: str, title: str, routers: list[tuple[str, Router]], org_host: bool) -> EnvelopeAPI:
    api = EnvelopeAPI(
        title=title,
        version="1.1.0",
        urls_namespace=namespace,
        docs_url="/docs",
        openapi_url="/openapi.json",
        docs=Swagger(settings={"displayOperationId": True}),  # the generated clients' method names
        org_host=org_host,
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


public_api = build_api(
    namespace="public_api", title="TaskHub platform API", routers=_public_routers(), org_host=False
)
tenant_api = build_api(
    namespace="tenant_api", title="TaskHub organization API", routers=_tenant_routers(), org_host=True
)


def org_openapi(request: HttpRequest) -> HttpResponse:
    """GET /api/v1/org-openapi.json on the root host (a plain view, like Ninja's
    own openapi.json): the organization-host schema, fetchable before any
    organization exists, its `servers` entry carrying a `{slug}` variable."""
    if request.method not in ("GET", "HEAD"):
        return envelope(405, "method_not_allowed", "Use GET.")
    schema = tenant_api.get_openapi_schema(path_prefix="/api/v1")
    schema["servers"] = tenant_api.server_list(from_org_host=False)
    return JsonResponse(schema)
