"""Django-level error views (URLs no API route matches): the envelope of API.md."""

from platform_core.errors import envelope


def not_found(request, exception=None):
    return envelope(404, "not_found", "No such endpoint.")


def server_error(request):
    return envelope(500, "server_error", "Internal server error.")


def bad_request(request, exception=None):
    return envelope(400, "bad_request", "Bad request.")


def permission_denied(request, exception=None):
    return envelope(403, "forbidden", "Forbidden.")
