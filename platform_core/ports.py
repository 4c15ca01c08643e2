"""The few things the framework needs from the apps above it, as registered functions.

`platform_core` is the bottom layer: its framework modules (auth, tenancy,
jobs, middleware, ...) import no app (see `[tool.importlinter]` in
pyproject.toml). Where they need an app's data they call a function here,
which the owning app registers in its `AppConfig.ready()`:

- `load_user(user_id)`, `session_owner(session_id)`: `shared_apps.accounts`;
- `load_role(org_id, user_id)`, `load_host(hostname)`, `schema_is_live(schema)`:
  `shared_apps.orgs`;
- `load_api_token(token_hash)`, `touch_api_token(token_id)`: `tenant_apps.tokens`
  (in the current organization's schema).

The tenant and domain *models* are reached the idiomatic django-tenants way
instead (`get_tenant_model()`, `get_tenant_domain_model()`), since the
framework only uses their django-tenants fields there.

A port nobody registered raises `PortNotRegistered` on use, naming it.
"""

from collections.abc import Callable
from typing import Any


class PortNotRegistered(RuntimeError):
    pass


_PORTS: dict[str, Callable[..., Any]] = {}

PORT_NAMES = (
    "load_user",
    "session_owner",
    "load_role",
    "load_host",
    "schema_is_live",
    "load_api_token",
    "touch_api_token",
)


def register(**functions: Callable[..., Any]) -> None:
    """`register(load_user=..., ...)`, from an app's `AppConfig.ready()`."""
    for name, function in functions.items():
        if name not in PORT_NAMES:
            raise ValueError(f"unknown port {name!r}; known: {', '.join(PORT_NAMES)}")
        _PORTS[name] = function


def _port(name: str) -> Callable[..., Any]:
    try:
        return _PORTS[name]
    except KeyError:
        raise PortNotRegistered(f"no app registered platform_core.ports.{name}") from None


def load_user(user_id: str) -> dict[str, Any] | None:
    """{"id", "email", "name", "is_staff"} of an active user, or None."""
    user: dict[str, Any] | None = _port("load_user")(user_id)
    return user


def session_owner(session_id: str) -> str:
    """The user id of an active session, or "revoked"."""
    owner: str = _port("session_owner")(session_id)
    return owner


def load_role(org_id: str, user_id: str) -> str | None:
    """The user's role in the organization, or None if not a member."""
    role: str | None = _port("load_role")(org_id, user_id)
    return role


def load_host(hostname: str) -> dict[str, Any] | None:
    """{"id", "schema_name", "slug", "name", "status"} of the organization a host selects, or None."""
    row: dict[str, Any] | None = _port("load_host")(hostname)
    return row


def schema_is_live(schema: str) -> bool:
    """Whether `schema` is an organization's schema that has not been dropped."""
    live: bool = _port("schema_is_live")(schema)
    return live


def load_api_token(token_hash: str) -> dict[str, Any] | None:
    """{"id", "user_id", "scopes", "expires_at" (epoch seconds or None)} of the
    live (not revoked) API token with this hash in the current schema, or None."""
    row: dict[str, Any] | None = _port("load_api_token")(token_hash)
    return row


def touch_api_token(token_id: str) -> None:
    """Record that the token was used now (its `last_used_at`)."""
    _port("touch_api_token")(token_id)
