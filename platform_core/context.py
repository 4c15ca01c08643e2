"""Per-request context (request id, client IP) visible to services, audit and logs."""

from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
client_ip_var: ContextVar[str | None] = ContextVar("client_ip", default=None)
# The API token a request authenticated with (set by platform_core.auth.MemberAuth), for audit events.
token_id_var: ContextVar[str | None] = ContextVar("token_id", default=None)


def current_request_id() -> str | None:
    return request_id_var.get()


def current_client_ip() -> str | None:
    return client_ip_var.get()


def current_token_id() -> str | None:
    return token_id_var.get()
