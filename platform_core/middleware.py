"""Request pipeline: request id -> body size -> host selects the tenant -> ... -> error envelope."""

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django_tenants.utils import get_tenant_model

from platform_core.client_ip import client_ip
from platform_core.context import client_ip_var, request_id_var, token_id_var
from platform_core.errors import DATABASE_UNAVAILABLE, database_unavailable, envelope
from platform_core.http import AppRequest
from platform_core.tenancy import is_root_host, normalize_host, resolve_host

log = logging.getLogger("platform_core.request")

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
HEALTH_PATHS = {"/healthz", "/readyz"}

GetResponse = Callable[[HttpRequest], HttpResponse]


class RequestContextMiddleware:
    """X-Request-ID (echoed if well-formed, else generated), client IP, access log."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: AppRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        rid_token = request_id_var.set(request_id)
        request.client_ip = client_ip(request)
        ip_token = client_ip_var.set(request.client_ip)
        api_token = token_id_var.set(None)  # set by the authenticator for API-token calls
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            if response.status_code >= 500 or settings.ACCESS_LOG:
                log.info(
                    "%s %s %s",
                    request.method,
                    request.path,
                    response.status_code,
                    extra={
                        "status": response.status_code,
                        "method": request.method,
                        "path": request.path,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )
            return response
        finally:
            request_id_var.reset(rid_token)
            client_ip_var.reset(ip_token)
            token_id_var.reset(api_token)


class BodySizeLimitMiddleware:
    """413 for a declared body over MAX_REQUEST_BYTES (chunked bodies: see api errors);
    NUL characters in the URL (PostgreSQL text cannot hold them): 404 in the
    path, 422 in the query."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: AppRequest) -> HttpResponse:
        if "\x00" in request.path:  # no resource is named so
            return envelope(404, "not_found", "Not found.")
        if "%00" in request.META.get("QUERY_STRING", ""):
            return envelope(
                422, "validation_error", "Invalid input.",
                errors=[{"loc": ["query"], "msg": "Text must not contain NUL characters."}],
            )
        length = request.META.get("CONTENT_LENGTH")
        if length:
            try:
                too_big = int(length) > settings.MAX_REQUEST_BYTES
            except ValueError:
                return envelope(400, detail="Invalid Content-Length header.")
            if too_big:
                return envelope(413, detail=f"Request body exceeds {settings.MAX_REQUEST_BYTES} bytes.")
        return self.get_response(request)


class PublicTenant:
    """`request.tenant` on the root host (django-tenants' admin templates read
    its schema_name); organization hosts get their Organization."""

    schema_name = "public"
    id: None = None
    slug: None = None

    def __bool__(self) -> bool:
        return False


PUBLIC_TENANT = PublicTenant()


class TenantMiddleware:
    """The host, and only the host, selects the organization (and its schema).

    Root host -> public schema and the public URLconf. A registered domain of
    an active organization -> its schema. Unknown host, deleted organization
    or spare schema -> 404 `unknown_host`; suspended -> 403 `org_suspended`.
    /healthz and /readyz answer on any host.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: AppRequest) -> HttpResponse:
        connection.set_schema_to_public()  # type: ignore[attr-defined]  # django-tenants' connection
        request.tenant = PUBLIC_TENANT
        if request.path in HEALTH_PATHS:
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
            return self.get_response(request)
        try:
            hostname = normalize_host(request.get_host())
        except DisallowedHost:
            return unknown_host()

        if is_root_host(hostname):
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
            return self.get_response(request)

        try:
            tenant = resolve_host(hostname) if len(hostname) <= 253 else None
        except DATABASE_UNAVAILABLE:
            return database_unavailable()
        if tenant is None or tenant.status not in ("active", "suspended"):
            return unknown_host()
        if tenant.status == "suspended":
            return envelope(403, "org_suspended", "This organization is suspended.")

        org = get_tenant_model()(
            id=tenant.id, schema_name=tenant.schema_name, slug=tenant.slug, name=tenant.name, status=tenant.status
        )
        org.domain_url = hostname
        request.tenant = org
        request.urlconf = settings.ROOT_URLCONF
        connection.set_tenant(org)  # type: ignore[attr-defined]  # django-tenants' connection
        try:
            return self.get_response(request)
        finally:
            connection.set_schema_to_public()  # type: ignore[attr-defined]  # django-tenants' connection


def unknown_host() -> JsonResponse:
    return envelope(404, "unknown_host", "No organization answers at this host.")


class ErrorEnvelopeMiddleware:
    """Any error response that is not JSON yet (Django's 404/405/500 pages) becomes the envelope."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: AppRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code < 400 or response.get("Content-Type", "").startswith("application/json"):
            return response
        if request.path.startswith("/admin/") and response.status_code < 500:
            return response  # the admin's own HTML pages (login, permission denied)
        replaced = envelope(response.status_code)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                replaced[header] = response[header]
        return replaced
