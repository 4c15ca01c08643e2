"""Shared test helpers: the two-organization world and an HTTP client that goes
through the whole middleware stack (host selects the tenant)."""

import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.client import ClientHandler

from platform_core.handlers import OrgHostStack, serves_root_host

API = "/api/v1"
PASSWORD = "correct-horse-battery-staple"


class OrgHostClientHandler(OrgHostStack, ClientHandler):
    """The test client's handler with settings.ORG_HOST_MIDDLEWARE (platform_core.handlers)."""


class ApiClient:
    def __init__(self, host: str, token: str | None = None):
        self.host = host
        self.token = token
        self.client = Client(HTTP_HOST=host, raise_request_exception=False)
        if not serves_root_host(host):  # organization hosts: their own middleware, as served
            self.client.handler = OrgHostClientHandler(enforce_csrf_checks=False)

    def _headers(self, extra: dict | None) -> dict:
        headers = {}
        if self.token:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {self.token}"
        headers.update(extra or {})
        return headers

    def _url(self, path: str) -> str:
        passthrough = (API + "/", "/admin", "/healthz", "/readyz", "/static")
        return path if path.startswith(passthrough) else API + path

    def get(self, path: str, params: dict | None = None, **headers):
        return self.client.get(self._url(path), params or {}, **self._headers(headers))

    def post(self, path: str, body=None, **headers):
        data = json.dumps(body) if body is not None else ""
        return self.client.post(self._url(path), data, content_type="application/json", **self._headers(headers))

    def patch(self, path: str, body=None, **headers):
        data = json.dumps(body) if body is not None else ""
        return self.client.patch(self._url(path), data, content_type="application/json", **self._headers(headers))

    def delete(self, path: str, **headers):
        return self.client.delete(self._url(path), **self._headers(headers))

    def raw(self, method: str, path: str, data: str | bytes, content_type="application/json", **headers):
        return self.client.generic(method, self._url(path), data, content_type=content_type, **self._headers(headers))


@dataclass
class OrgWorld:
    org: object
    host: str
    owner: object
    admin: object
    member: object

    def users(self):
        return {"owner": self.owner, "admin": self.admin, "member": self.member}


@dataclass
class World:
    a: OrgWorld
    b: OrgWorld
    outsider: object
    operator: object
    sessions: dict = field(default_factory=dict)  # user id -> AuthSession
    rows: dict = field(default_factory=dict)  # model -> list of instances (public snapshot)

    @property
    def root(self) -> str:
        return settings.BASE_DOMAIN

    def host(self, target) -> str:
        if isinstance(target, OrgWorld):
            return target.host
        if target == "root":
            return self.root
        return target

    def token(self, user) -> str:
        session = self.sessions.get(user.id)
        if session is None:  # a user made inside the test: a session of its own
            from shared_apps.accounts.models import AuthSession

            session = AuthSession.objects.create(user=user)
        return access_token_for(user, session.id)


def access_token_for(user, session_id) -> str:
    from ninja_jwt.tokens import AccessToken

    token = AccessToken()
    token["user_id"] = str(user.id)
    token["sid"] = str(session_id)
    return str(token)


def make_user(email: str, name: str | None = None, **extra):
    from shared_apps.accounts.models import User

    return User.objects.create_user(email=email, password=PASSWORD, name=name or email.split("@")[0], **extra)


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def add_member(org, user, role: str):
    from shared_apps.orgs.models import Membership

    return Membership.objects.create(organization=org, user=user, role=role)


def _org_world(slug: str, name: str) -> OrgWorld:
    from provisioning.services import org_provision
    from shared_apps.orgs.models import Organization

    owner = make_user(f"owner@{slug}.test", f"{name} Owner")
    org = Organization.objects.filter(slug=slug).first() or org_provision(owner=owner, name=name, slug=slug)
    admin = make_user(f"admin@{slug}.test", f"{name} Admin")
    member = make_user(f"member@{slug}.test", f"{name} Member")
    add_member(org, admin, "admin")
    add_member(org, member, "member")
    return OrgWorld(org=org, host=f"{slug}.{settings.BASE_DOMAIN}", owner=owner, admin=admin, member=member)


def build_world() -> World:
    from ninja_jwt.token_blacklist.models import OutstandingToken  # noqa: F401

    from shared_apps.accounts.models import AuthSession, User
    from shared_apps.orgs.models import Domain, Membership, Organization

    a = _org_world("acme", "Acme")
    b = _org_world("globex", "Globex")
    outsider = make_user("outsider@example.test", "Outsider")
    operator = make_user("operator@example.test", "Operator", is_staff=True)
    world = World(a=a, b=b, outsider=outsider, operator=operator)
    for user in [*a.users().values(), *b.users().values(), outsider, operator]:
        world.sessions[user.id] = AuthSession.objects.create(user=user)
    world.rows = {model: list(model.objects.all()) for model in (User, Organization, Domain, Membership, AuthSession)}
    return world


def restore_public_rows(world: World) -> None:
    """Put the session's public rows back after a transactional test's flush."""
    from django.db import connection

    from shared_apps.orgs.models import Organization

    connection.set_schema_to_public()
    if Organization.objects.filter(id=world.a.org.id).exists():
        return
    for model, rows in world.rows.items():
        model.objects.bulk_create(rows, ignore_conflicts=True)


RACE_JITTER = 0.01  # seconds after the barrier: varies who gets there first


def race(*calls) -> list:
    """Run each call in its own thread (own DB connection), started together."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait(timeout=10)
            time.sleep(random.random() * RACE_JITTER)  # vary who gets there first
            results[i] = call()
        except Exception as exc:  # noqa: BLE001 - reported by the test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for r in results:
        assert not isinstance(r, Exception), repr(r)
    return results


class RewrittenTaskRows:
    """The task rows of a list rewritten since the last look: those whose row
    version (ctid: every UPDATE writes a new one) changed; new rows do not
    count. It reads the state, so every write path is counted whatever SQL
    made it (a rebalance's UPDATE, a move's UPDATE fused with its placement).
    Used by tests/boards/test_ranking_cost.py and bench/ranking.py."""

    def __init__(self, list_id):
        self.list_id = list_id
        self.versions = self._read()

    def _read(self) -> dict:
        with connection.cursor() as cursor:
            cursor.execute(
                'SELECT id, ctid::text FROM "boards_task" WHERE list_id = %s', [self.list_id]
            )
            return dict(cursor.fetchall())

    def since_last(self) -> int:
        now = self._read()
        rewritten = sum(1 for key, version in self.versions.items() if now.get(key, version) != version)
        self.versions = now
        return rewritten


def board_through_api(client, name="Roadmap", lists=2, tasks=3):
    """A board made over HTTP with `lists` lists of `tasks` tasks: (board, lists with their "tasks")."""
    board = client.post("/boards", {"name": name}).json()
    made = []
    for i in range(lists):
        task_list = client.post(f"/boards/{board['id']}/lists", {"name": f"List {i}"}).json()
        task_list["tasks"] = [
            client.post("/tasks", {"list_id": task_list["id"], "title": f"Task {i}.{j}"}).json() for j in range(tasks)
        ]
        made.append(task_list)
    return board, made
