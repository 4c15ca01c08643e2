"""Application errors: business code raises these, one handler maps them to the envelope.

Envelope (API.md): {"code": "<machine_code>", "detail": "<human message>"}.
"""

from http import HTTPStatus
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse


class AppError(Exception):
    status = 400
    code = "bad_request"
    detail = "Bad request."

    def __init__(self, detail: str | None = None, *, code: str | None = None, **extra: Any) -> None:
        self.detail = detail or self.detail
        if code:
            self.code = code
        self.extra = extra
        super().__init__(self.detail)

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "detail": self.detail, **self.extra}


class BadRequest(AppError):
    status, code, detail = 400, "bad_request", "Bad request."


class Unauthorized(AppError):
    status, code, detail = 401, "not_authenticated", "Authentication credentials are missing or invalid."


class Forbidden(AppError):
    status, code, detail = 403, "forbidden", "You do not have permission to do this."


class NotFound(AppError):
    status, code, detail = 404, "not_found", "Not found."


class Conflict(AppError):
    status, code, detail = 409, "conflict", "Conflict."


class Gone(AppError):
    status, code, detail = 410, "gone", "This is no longer available."


class PayloadTooLarge(AppError):
    status, code, detail = 413, "payload_too_large", "Request body is too large."


class Misdirected(AppError):
    """A live endpoint reached the WSGI API server directly: streams are served
    by the ASGI live server, which the public port's proxy routes them to."""

    status, code, detail = 421, "misdirected", "Live endpoints are served through the public port, not this server."


class InvalidInput(AppError):
    """A 422 raised by business rules (same envelope as schema validation)."""

    status, code, detail = 422, "validation_error", "Invalid input."

    def __init__(self, detail: str, *, loc: list[str | int] | None = None) -> None:
        super().__init__(detail)
        self.extra = {"errors": [{"loc": loc or [], "msg": detail}]}


class RateLimited(AppError):
    status, code, detail = 429, "rate_limited", "Too many requests."

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        super().__init__(detail)
        self.retry_after = max(1, int(retry_after))


class ServiceUnavailable(AppError):
    status, code, detail = 503, "service_unavailable", "Service temporarily unavailable."

    def __init__(self, detail: str | None = None, *, retry_after: int = 5, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.retry_after = max(1, int(retry_after))


STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    410: "gone",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    421: "misdirected",
    422: "validation_error",
    429: "rate_limited",
    500: "server_error",
    503: "unavailable",
}


def envelope(status: int, code: str | None = None, detail: str | None = None, **extra: Any) -> JsonResponse:
    body = {
        "code": code or STATUS_CODES.get(status, "error"),
        "detail": detail or HTTPStatus(status).phrase,
        **extra,
    }
    return JsonResponse(body, status=status)


def error_response(exc: AppError) -> JsonResponse:
    response = JsonResponse(exc.body(), status=exc.status)
    if isinstance(exc, RateLimited | ServiceUnavailable):
        response["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, ServiceUnavailable):
        # Load shed on purpose (a 503 the client retries), not a server error:
        # Django would log each as ERROR; the access log records it.
        response._has_been_logged = True  # type: ignore[attr-defined]  # Django's own marker (log_response)
    return response


# PostgreSQL unreachable (down, restarting, pool exhausted): a 503 the client may
# retry, not a 500.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)


def database_unavailable() -> JsonResponse:
    response = envelope(503, "database_unavailable", "The database is unavailable; retry shortly.")
    response["Retry-After"] = "5"
    return response
