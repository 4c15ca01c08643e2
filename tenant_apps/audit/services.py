"""audit_record: the one way to write an audit event, inside the mutation's transaction."""

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import partial
from typing import Any
from uuid import UUID

from django.db import connection, transaction

from platform_core.context import current_client_ip, current_request_id
from tenant_apps.audit.models import AuditEvent


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    return value


def snapshot(obj, fields: tuple[str, ...] | list[str]) -> dict:
    """The audited fields of `obj` as JSON-ready values (`list` -> `list_id`, ...)."""
    out = {}
    for field in fields:
        out[field] = _jsonable(getattr(obj, field))
    return out


def diff(before: dict, after: dict) -> dict:
    """{field: {"from": old, "to": new}} for the fields that changed."""
    return {
        key: {"from": before.get(key), "to": after.get(key)}
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def audit_record(
    *,
    actor_id: UUID | None,
    action: str,
    target_type: str,
    target_id: UUID | None,
    changes: dict | None = None,
    board_id: UUID | None = None,
) -> AuditEvent:
    """Write the event for a mutation; must run inside that mutation's transaction.

    Board-scoped events, after commit (never for a rolled-back change):
    the board's rendered detail goes stale and its live subscribers hear it.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("audit_record must run inside the mutation's transaction")
    event = AuditEvent.objects.create(
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        board_id=board_id,
        changes={k: _jsonable(v) for k, v in (changes or {}).items()},
        request_id=current_request_id() or "",
        ip=current_client_ip(),
    )
    if board_id is not None:
        from platform_core.live import board_changed

        transaction.on_commit(partial(board_changed, connection.schema_name, board_id, event_payload(event)))
    return event


def event_payload(event: AuditEvent) -> dict:
    return {
        "id": str(event.id),
        "at": event.at.isoformat().replace("+00:00", "Z"),
        "actor_id": str(event.actor_id) if event.actor_id else None,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": str(event.target_id) if event.target_id else None,
        "changes": event.changes,
        "request_id": event.request_id or None,
    }
