"""Live board events over Redis pub/sub, on tenant-qualified channels."""

import json
import logging

from django.conf import settings

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


def publish_board_event(schema_name: str, board_id, payload: dict) -> None:
    """Called after commit. Live delivery is best effort: Redis down loses the
    live push, never the change (clients re-read the board on reconnect)."""
    try:
        _client().publish(board_channel(schema_name, board_id), json.dumps(payload))
    except Exception as exc:
        log.warning("live event not published (%s)", exc.__class__.__name__)
