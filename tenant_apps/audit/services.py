"""audit_record: the one way to write an audit event, inside the mutation's transaction."""

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from django.db import connection

from platform_core.context import current_client_ip, current_request_id, current_token_id
from platform_core.timestamps import api_timestamp
from tenant_apps.audit.models import AuditEvent
from tenant_apps.audit.targets import audit_target


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return api_timestamp(value)  # as REST and the live stream write timestamps
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    return value


def snapshot(obj: object, fields: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """The audited fields of `obj` as JSON-ready values (`list` -> `list_id`, ...)."""
    out: dict[str, Any] = {}
    for field in fields:
        out[field] = _jsonable(getattr(obj, field))
    return out


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """{field: {"from": old, "to": new}} for the fields that changed."""
    return {
        key: {"from": before.get(key), "to": after.get(key)}
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def audit_record(
    *,
    actor: Any,
    action: str,
    target: Any,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write the event for a mutation; must run inside that mutation's transaction.

    `actor`: the acting member (platform_core.auth.Actor), a user id, or None
    (the platform). `target`: the instance the change is about (a registered
    model, tenant_apps.audit.targets); its type, id and board are derived from
    it. Record a deletion before deleting (a deleted instance has no id).

    Records only: side effects (a board's cached detail, live subscribers) are
    the calling service's to schedule (tenant_apps.boards.effects).
    """
    event = audit_event(actor=actor, action=action, target=target, changes=changes)
    event.save(force_insert=True)
    return event


def audit_event(
    *,
    actor: Any,
    action: str,
    target: Any,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """audit_record's event, checked but not yet written: for a service that
    writes it in the same statement as its change (its INSERT must follow in
    the same transaction; tenant_apps.boards.services.tasks does)."""
    if not connection.in_atomic_block:
        raise RuntimeError("audit_record must run inside the mutation's transaction")
    about = audit_target(target)
    if about.id is None:
        raise ValueError(f"audit_record: the {about.type} has no id (record a deletion before deleting)")
    return AuditEvent(
        actor_id=_actor_id(actor),
        token_id=getattr(actor, "token_id", None) or current_token_id(),
        action=action,
        target_type=about.type,
        target_id=about.id,
        board_id=about.board_id,
        changes={k: _jsonable(v) for k, v in (changes or {}).items()},
        request_id=current_request_id() or "",
        ip=current_client_ip(),
    )


def _actor_id(actor: Any) -> UUID | str | None:
    """An Actor's user id; a user id or None as given."""
    actor_id: UUID | str | None = getattr(actor, "user_id", actor)
    return actor_id


def event_payload(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": str(event.id),
        "at": api_timestamp(event.at),  # as GET /audit renders it
        "actor_id": str(event.actor_id) if event.actor_id else None,
        "token_id": str(event.token_id) if event.token_id else None,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": str(event.target_id) if event.target_id else None,
        "changes": event.changes,
        "request_id": event.request_id or None,
    }
