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

from platform_core import live
from tenant_apps.audit.models import AuditEvent
from tenant_apps.audit.services import event_payload


def boards_changed(schema: str, board_ids: Iterable[UUID], event: AuditEvent) -> None:
    """After commit: retire the organization's rendered task pages and the
    rendered reads of each of `board_ids` in `schema`, and publish `event` (its
    JSON payload, as of now) to their streams (platform_core.live.boards_changed)."""
    payload = event_payload(event)
    boards = list(dict.fromkeys(board_ids))  # each board once, in order
    transaction.on_commit(partial(live.boards_changed, schema, boards, payload))
