"""The live endpoint of boards: `GET /boards/{id}/events` (server-sent events).

The transport (channels, stream registry, revocation, the event-stream
generator) is platform_core.live; this module only names the board's channel
once the caller may read the board."""

from uuid import UUID

from django.db import connection
from ninja import Router

from platform_core.errors import NotFound
from platform_core.http import OrgRequest
from platform_core.live import StreamMemberAuth, board_channel, stream_response
from platform_core.permissions import Action, requires
from platform_core.schemas import ERRORS_OBJECT, ErrorOut
from tenant_apps.boards.models import Board

router = Router(tags=["live"])


@router.get(
    "/boards/{board_id}/events",
    auth=StreamMemberAuth(),
    response={200: None, 421: ErrorOut, **ERRORS_OBJECT},
    openapi_extra={
        "responses": {"200": {"description": "text/event-stream of audit events", "content": {"text/event-stream": {}}}}
    },
)
@requires(Action.BOARD_READ)
def board_events(request: OrgRequest, board_id: UUID):
    """Server-sent events for one board: `event:` is the audit action, `data:` the audit event JSON.
    The stream ends with `event: access_revoked` when the caller's access ends.
    Served by the live (ASGI) server behind the public port; the API (WSGI) server answers 421."""
    if not Board.objects.filter(id=board_id).exists():
        raise NotFound("No such board.")
    return stream_response(request, board_channel(connection.schema_name, board_id))  # type: ignore[attr-defined]  # django-tenants
