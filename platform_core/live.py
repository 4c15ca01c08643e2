"""Live board updates: server-sent events fed by Redis pub/sub, and the
revocation signal that ends a stream when its access ends.

Publishing: the services schedule `boards_changed` on commit with every board
a write touches (tenant_apps.boards.effects.boards_changed; it retires the
rendered reads, then publishes, in one round trip),
so subscribers only ever see committed changes, and a rolled-back change
publishes nothing.

Subscribing: `GET /boards/{id}/events` (tenant_apps/boards/live.py) checks
membership and the board in the request's schema (a normal, synchronous ninja
handler), then `stream_response(...)` streams from the channel
`live:{schema}:board:{id}`; the schema comes from the host, so a subscriber
can only ever hear its own organization.

Access ends with the stream (the "grant" of a stream is re-checked):
- `publish_revocation(...)` runs after the commit of anything that can end
  access (session revoked, user deactivated, membership changed or removed,
  organization suspended, deleted or re-hosted; shared_apps.orgs.signals).
  Every stream listens on `live:revoke` on the same Redis connection as its
  board, so a revocation published before a later change is always read
  before that change: nothing committed after the revocation is delivered.
  A stream the message concerns re-checks its grant at once.
- Every LIVE_RECHECK_SECONDS a stream re-checks anyway (a revocation lost
  while Redis was away still ends it within that interval).
The re-check (`grant_denial`) is the request path's own: host ->
organization, user, session and role, from Redis when warm. A stream that
fails it sends `event: access_revoked` and ends; the client's reconnect then
meets the normal 401/403.

Streams per user and organization are capped (LIVE_MAX_STREAMS_PER_USER,
429 beyond): a Redis sorted set of stream ids scored by their last re-check,
so streams of a process that died stop counting after LIVE_STREAM_STALE_SECONDS.
The WebSocket layer reuses StreamGrant, the revocation channel and the cap.
"""

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

import redis
import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import close_old_connections, connection
from django.http import HttpRequest, StreamingHttpResponse

from platform_core.auth import Actor, AuthUser, MemberAuth, load_identity
from platform_core.cache import ALL_BOARDS, board_detail_cache, redis_pipeline
from platform_core.cache import degraded as cache_degraded
from platform_core.errors import AppError, Forbidden, Misdirected, NotFound, RateLimited
from platform_core.http import OrgRequest
from platform_core.permissions import Action, authorize
from platform_core.tenancy import resolve_host

log = logging.getLogger("platform_core.live")

REVOKE_CHANNEL = "live:revoke"

_redis: redis.Redis | None = None


def board_channel(schema_name: str, board_id: object) -> str:
    return f"live:{schema_name}:board:{board_id}"


def _client() -> redis.Redis:
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(
            settings.REDIS_URL,
            socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT,
            socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
        )
    return _redis


def boards_changed(schema_name: str, board_ids: Sequence[object], payload: dict[str, Any]) -> None:
    """After commit of a change to `board_ids`: retire the organization's
    rendered task pages and each board's rendered reads, then tell each board's
    subscribers. One round trip: the version bumps and the PUBLISHes go down
    one pipeline on the process's cache client (Redis pub/sub is server-wide,
    so subscribers on REDIS_URL hear it: both URLs name one Redis server).
    Redis down: the cache is flushed once it is back, and the live push is
    lost (clients re-read the board on reconnect), never the change."""
    message = json.dumps(payload, default=str)
    try:
        pipe = redis_pipeline()
        # The bumps first: a subscriber told of the change may re-read at once.
        board_detail_cache.queue_bump(pipe, schema_name, ALL_BOARDS, *board_ids)
        for board_id in board_ids:
            pipe.publish(board_channel(schema_name, board_id), message)
        pipe.execute()
    except Exception as exc:
        cache_degraded("delete", exc)
        log.warning("live message not published (%s)", exc.__class__.__name__)


def publish_revocation(*, user_id: object = None, session_id: object = None, org_id: object = None) -> None:
    """After commit of a change that may end access: the streams it concerns
    re-check their grant now. A lost message is covered by the periodic re-check."""
    message = {"user": user_id, "session": session_id, "org": org_id}
    _publish(REVOKE_CHANNEL, {k: str(v) for k, v in message.items() if v is not None})


def _publish(channel: str, payload: dict[str, Any]) -> None:
    try:
        _client().publish(channel, json.dumps(payload, default=str))
    except Exception as exc:
        log.warning("live message not published (%s)", exc.__class__.__name__)


# --- grants: who a stream is for, and whether that still holds ---------------------------


@dataclass(frozen=True)
class StreamGrant:
    host: str
    org_id: str
    schema: str
    user_id: str
    session_id: str

    def concerns(self, message: dict[str, Any]) -> bool:
        """Whether a revocation message may affect this grant."""
        if message.get("session") == self.session_id:
            return True
        user, org = message.get("user"), message.get("org")
        if user is not None:
            return user == self.user_id and org in (None, self.org_id)
        return org == self.org_id


def grant_denial(grant: StreamGrant, action: Action = Action.BOARD_READ) -> AppError | None:
    """The request path's checks, now: None if the host still selects this
    active organization, the user is active, the session live and the role
    still allows `action`; otherwise the error the request path would raise
    (its status tells 401 from 403, for WebSocket close codes 4401/4403).
    Redis when warm, PostgreSQL on a miss."""
    tenant = resolve_host(grant.host)
    if tenant is None or tenant.id != grant.org_id or tenant.status not in ("active", "suspended"):
        return NotFound("No organization answers at this host.", code="unknown_host")
    if tenant.status == "suspended":
        return Forbidden("This organization is suspended.", code="org_suspended")
    try:
        user, role = load_identity(grant.user_id, grant.session_id, grant.org_id)
        if role is None:
            raise Forbidden("You are not a member of this organization.", code="not_a_member")
        actor = Actor(user_id=UUID(user.id), email=user.email, name=user.name, org_id=UUID(grant.org_id), role=role)
        authorize(actor, action)
    except AppError as exc:
        return exc
    return None


def _checked_in_thread(grant: StreamGrant) -> AppError | None:
    """grant_denial from a worker thread, handing back any connection it took."""
    try:
        return grant_denial(grant)
    finally:
        close_old_connections()
        connection.close()


async def grant_check(grant: StreamGrant) -> AppError | None | bool:
    """grant_denial, off the event loop; True when the check itself could not
    run (database or Redis unreachable): the caller keeps the stream and tries
    again at the next re-check."""
    try:
        return await sync_to_async(_checked_in_thread, thread_sensitive=False)(grant)
    except Exception as exc:
        log.warning("live grant re-check failed (%s)", exc.__class__.__name__)
        return True


# --- streams per user and organization ----------------------------------------------------


class StreamRegistry:
    """Open streams per (organization, user) in a Redis sorted set, scored by the
    time each stream last proved alive; stale members (a process that died) are
    dropped before counting. Redis down: not enforced (the stream cannot
    subscribe then anyway)."""

    def _key(self, grant: StreamGrant) -> str:
        return f"live:streams:{grant.org_id}:{grant.user_id}"

    def open(self, grant: StreamGrant, stream_id: str) -> None:
        """Register a stream; 429 if the user already has the maximum open."""
        key, now = self._key(grant), time.time()
        limit = settings.LIVE_MAX_STREAMS_PER_USER
        try:
            pipe = _client().pipeline()
            pipe.zremrangebyscore(key, 0, now - settings.LIVE_STREAM_STALE_SECONDS)
            pipe.zadd(key, {stream_id: now})
            pipe.zcard(key)
            pipe.expire(key, settings.LIVE_STREAM_STALE_SECONDS * 2)
            _, _, count, _ = pipe.execute()
        except Exception as exc:
            log.warning("live stream registry unavailable (%s)", exc.__class__.__name__)
            return
        if count > limit:
            self.close(grant, stream_id)
            raise RateLimited(
                int(settings.LIVE_RECHECK_SECONDS),
                f"At most {limit} live streams per user and organization; close one first.",
            )

    async def touch(self, client: aioredis.Redis, grant: StreamGrant, stream_id: str) -> None:
        key = self._key(grant)
        try:
            pipe = client.pipeline()
            pipe.zadd(key, {stream_id: time.time()})
            pipe.expire(key, settings.LIVE_STREAM_STALE_SECONDS * 2)
            await pipe.execute()
        except Exception:
            pass

    def close(self, grant: StreamGrant, stream_id: str) -> None:
        try:
            _client().zrem(self._key(grant), stream_id)
        except Exception:
            pass

    async def aclose(self, client: aioredis.Redis, grant: StreamGrant, stream_id: str) -> None:
        try:
            await client.zrem(self._key(grant), stream_id)
        except Exception:
            pass


streams = StreamRegistry()


# --- the SSE stream (the endpoints live in the tenant apps: tenant_apps/boards/live.py) ---


class StreamMemberAuth(MemberAuth):
    """Bearer header, or `?access_token=` (EventSource cannot send headers)."""

    def __call__(self, request: HttpRequest) -> Actor | AuthUser:
        token = request.GET.get("access_token")
        if token and not request.headers.get("Authorization"):
            return self.authenticate(cast(OrgRequest, request), token)
        return super().__call__(request)


def _revoked(denial: AppError) -> str:
    """The last message of a stream whose access ended: the error the request path would give now."""
    return f"event: access_revoked\ndata: {json.dumps({'status': denial.status, **denial.body()})}\n\n"


async def _event_stream(grant: StreamGrant, stream_id: str, channel: str) -> AsyncIterator[str]:
    heartbeat = float(settings.LIVE_HEARTBEAT_SECONDS)
    recheck = float(settings.LIVE_RECHECK_SECONDS)
    client = aioredis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT)
    pubsub = client.pubsub()
    try:
        await pubsub.subscribe(channel, REVOKE_CHANNEL)
        # A revocation committed between the handler's check and the
        # subscription would otherwise go unheard until the next re-check.
        denial = await grant_check(grant)
        if isinstance(denial, AppError):
            yield _revoked(denial)
            return
        yield "retry: 3000\n: connected\n\n"
        loop = asyncio.get_running_loop()
        next_check = loop.time() + recheck
        next_beat = loop.time() + heartbeat
        while True:
            wait = max(0.0, min(next_check, next_beat) - loop.time())
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=wait)
            check_now = loop.time() >= next_check
            if message is not None:
                raw = message["data"].decode() if isinstance(message["data"], bytes) else message["data"]
                payload = json.loads(raw)
                if message["channel"] in (REVOKE_CHANNEL, REVOKE_CHANNEL.encode()):
                    check_now = check_now or grant.concerns(payload)
                else:
                    yield f"id: {payload.get('id', '')}\nevent: {payload.get('action', 'message')}\ndata: {raw}\n\n"
            if check_now:
                denial = await grant_check(grant)
                if isinstance(denial, AppError):
                    yield _revoked(denial)
                    return
                await streams.touch(client, grant, stream_id)
                next_check = loop.time() + recheck
            if loop.time() >= next_beat:
                yield ": keep-alive\n\n"
                next_beat = loop.time() + heartbeat
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # Redis gone: end the stream; EventSource reconnects
        log.warning("live stream ended (%s)", exc.__class__.__name__)
    finally:
        await streams.aclose(client, grant, stream_id)
        try:
            await pubsub.unsubscribe()
            await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves PubSub.aclose unannotated
            await client.aclose()
        except Exception:
            pass


def stream_response(request: OrgRequest, channel: str) -> StreamingHttpResponse:
    """A text/event-stream of `channel` for the member a `StreamMemberAuth`
    handler authenticated (and authorized), counted against the per-user cap
    and ended when their access ends. The handler (in the tenant app that
    owns the channel) checks the object first."""
    if not isinstance(request, ASGIRequest):  # a WSGI thread cannot hold a stream open
        raise Misdirected()
    grant = StreamGrant(
        host=request.tenant.domain_url,
        org_id=str(request.actor.org_id),
        schema=connection.schema_name,  # type: ignore[attr-defined]  # django-tenants' connection
        user_id=str(request.actor.user_id),
        session_id=request.user_auth.session_id,
    )
    stream_id = uuid.uuid4().hex
    streams.open(grant, stream_id)
    # The stream never touches the database: hand the connection back to the
    # pool now rather than holding it for the life of the stream.
    if not connection.in_atomic_block:
        connection.close()
    response = StreamingHttpResponse(_event_stream(grant, stream_id, channel), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
