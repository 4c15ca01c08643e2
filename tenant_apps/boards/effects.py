"""The side effects of board writes, scheduled by the services explicitly.

`boards_changed` runs after the transaction commits (never for a rolled-back
change): the organization's rendered GET /tasks pages that name no board are
retired, then each board's rendered detail and task pages, and its live
subscribers hear the audit event. A write that touches several boards names
them all.
"""

from collections.abc import Iterable
from functools import partial
from uuid import UUID

from django.db import transaction

from platform_core.cache import ALL_BOARDS, board_detail_cache
from platform_core.live import board_changed
from tenant_apps.audit.models import AuditEvent
from tenant_apps.audit.services import event_payload


def boards_changed(schema: str, board_ids: Iterable[UUID], event: AuditEvent) -> None:
    """After commit: retire the rendered detail of each of `board_ids` in
    `schema` and publish `event` (its JSON payload, as of now) to their streams."""
    payload = event_payload(event)
    # First: a subscriber told of the change may re-read any page at once.
    transaction.on_commit(partial(board_detail_cache.bump, schema, ALL_BOARDS))
    for board_id in dict.fromkeys(board_ids):  # each board once, in order
        transaction.on_commit(partial(board_changed, schema, board_id, payload))
