"""The side effects of board writes, scheduled by the services explicitly.

`boards_changed` runs after the transaction commits (never for a rolled-back
change): each board's rendered detail is retired and its live subscribers
hear the audit event. A write that touches several boards names them all.
"""

from collections.abc import Iterable
from functools import partial
from uuid import UUID

from django.db import transaction

from platform_core.live import board_changed
from tenant_apps.audit.models import AuditEvent
from tenant_apps.audit.services import event_payload


def boards_changed(schema: str, board_ids: Iterable[UUID], event: AuditEvent) -> None:
    """After commit: retire the rendered detail of each of `board_ids` in
    `schema` and publish `event` (its JSON payload, as of now) to their streams."""
    payload = event_payload(event)
    for board_id in dict.fromkeys(board_ids):  # each board once, in order
        transaction.on_commit(partial(board_changed, schema, board_id, payload))
