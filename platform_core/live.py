"""Live board updates: server-sent events fed by Redis pub/sub.

Publishing: audit_record() schedules `board_changed` on commit for every
board-scoped event (it retires the rendered board detail, then publishes),
so subscribers only ever see committed changes, and a rolled-back change
publishes nothing.

Subscribing: `GET /boards/{id}/events` checks membership and the board in the
request's schema (a normal, synchronous ninja handler), then streams from the
channel `live:{schema}:board:{id}`; the schema comes from the host, so a
subscriber can only ever hear its own organization. The stream itself never
touches the database.
"""

import asyncio
import json
import logging
from uuid import UUID

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, StreamingHttpResponse
from ninja import Router

from platform_core.auth import MemberAuth
from platform_core.errors import NotFound
from platform_core.permissions import Action, authorize
from platform_core.schemas import ERRORS_OBJECT

log = logging.getLogger("platform_core.live")

_redis = None


def board_channel(schema_name: str, board_id) -> str:
    return f"live:{schema_name}:board:{board_id}"


def _client():
    global _redis
    if _redis is None:
        import redis

        _redis = redis.Redis.from_url(
            settings.REDIS_URL,
            socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT,
            socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
        )
    return _redis


def board_changed(schema_name: str, board_id, payload: dict) -> None:
    """After commit of a board-scoped change: retire the board's rendered
    detail (platform_core.cache.board_detail_cache), then tell subscribers."""
    from platform_core.cache import board_detail_cache

    board_detail_cache.bump(schema_name, board_id)
    publish_board_event(schema_name, board_id, payload)


def publish_board_event(schema_name: str, board_id, payload: dict) -> None:
    """Called after commit. Live delivery is best effort: Redis down loses the
    live push, never the change (clients re-read the board on reconnect)."""
    try:
        _client().publish(board_channel(schema_name, board_id), json.dumps(payload))
    except Exception as exc:
        log.warning("live event not published (%s)", exc.__class__.__name__)


class StreamMemberAuth(MemberAuth):
    """Bearer header, or `?access_token=` (EventSource cannot send headers)."""

    def __call__(self, request: HttpRequest):
        token = request.GET.get("access_token")
        if token and not request.headers.get("Authorization"):
            return self.authenticate(request, token)
        return super().__call__(request)


async def _event_stream(channel: str, heartbeat: float):
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT)
    pubsub = client.pubsub()
    try:
        await pubsub.subscribe(channel)
        yield "retry: 3000\n: connected\n\n"
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=heartbeat)
            if message is None:
                yield ": keep-alive\n\n"
                continue
            data = message["data"].decode() if isinstance(message["data"], bytes) else message["data"]
            action = json.loads(data).get("action", "message")
            yield f"id: {json.loads(data).get('id', '')}\nevent: {action}\ndata: {data}\n\n"
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # Redis gone: end the stream; EventSource reconnects
        log.warning("live stream ended (%s)", exc.__class__.__name__)
    finally:
        try:
            await pubsub.unsubscribe(channel)
            await pubsub.aclose()
            await client.aclose()
        except Exception:
            pass


router = Router(tags=["live"])


@router.get(
    "/boards/{board_id}/events",
    auth=StreamMemberAuth(),
    response={200: None, **ERRORS_OBJECT},
    openapi_extra={"responses": {"200": {"description": "text/event-stream of audit events", "content": {"text/event-stream": {}}}}},
)
def board_events(request: HttpRequest, board_id: UUID):
    """Server-sent events for one board: `event:` is the audit action, `data:` the audit event JSON."""
    authorize(request.actor, Action.BOARD_READ)
    from tenant_apps.boards.models import Board

    if not Board.objects.filter(id=board_id).exists():
        raise NotFound("No such board.")
    channel = board_channel(connection.schema_name, board_id)
    # The stream never touches the database: hand the connection back to the
    # pool now rather than holding it for the life of the stream.
    if not connection.in_atomic_block:
        connection.close()
    response = StreamingHttpResponse(
        _event_stream(channel, float(getattr(settings, "LIVE_HEARTBEAT_SECONDS", 15))),
        content_type="text/event-stream",
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
