"""Django-level error views (URLs no API route matches): the envelope of API.md."""

from django.http import HttpRequest, HttpResponse

from platform_core.errors import envelope


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return envelope(404, "not_found", "No such endpoint.")


def server_error(request: HttpRequest) -> HttpResponse:
    return envelope(500, "server_error", "Internal server error.")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return envelope(400, "bad_request", "Bad request.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return envelope(403, "forbidden", "Forbidden.")
