"""Membership races (issue 11, finding 6): real concurrent requests, many rounds.

Each race sends two HTTP requests at once through the whole stack (tenant
middleware, auth, handler, service) from two threads, each with its own
PostgreSQL connection, released together by a barrier; committed data
(transactional tests). Losers must get 404 or 409, never 500; each effective
change writes exactly one audit event; the final state is that of a serial
order. Organization B (globex) never sees any of it.
"""

import uuid

import pytest
from django_tenants.utils import schema_context

from tests.support import ApiClient, OrgWorld, add_member, make_user, race, unique_email

ROUNDS = 20
pytestmark = pytest.mark.django_db(transaction=True)


def client(world, org_world, user) -> ApiClient:
    return ApiClient(org_world.host, token=world.token(user))


def events(org_world, **filters) -> list:
    from tenant_apps.audit.models import AuditEvent

    with schema_context(org_world.org.schema_name):
        return list(AuditEvent.objects.filter(**filters).order_by("at", "id"))


def role_of(org, user) -> str | None:
    from shared_apps.orgs.models import Membership

    return (
        Membership.objects.filter(organization=org, user=user)
        .values_list("role", flat=True)
        .first()
    )


def codes(*responses) -> list:
    return [r.status_code for r in responses]


def assert_globex_untouched(world, user_ids) -> None:
    """Organization B holds no event about these users and its members are as seeded."""
    from shared_apps.orgs.models import Membership

    assert events(world.b, target_id__in=user_ids) == []
    assert set(
        Membership.objects.filter(organization=world.b.org).values_list("user_id", "role")
    ) == {
        (world.b.owner.id, "owner"),
        (world.b.admin.id, "admin"),
        (world.b.member.id, "member"),
    }


def test_role_change_races_leave(world):
    a = world.a
    seen = set()
    users = []
    for _ in range(ROUNDS):
        x = make_user(unique_email("leaver"))
        add_member(a.org, x, "member")
        users.append(x.id)
        owner_c, x_c = client(world, a, a.owner), client(world, a, x)
        for c in (owner_c, x_c):  # warm both callers' auth caches: an even start
            assert c.get("/org").status_code == 200
        change, leave = race(
            lambda c=owner_c, x=x: c.patch(f"/members/{x.id}", {"role": "admin"}),
            lambda c=x_c, x=x: c.delete(f"/members/{x.id}"),
        )
        seen.add((change.status_code, leave.status_code))
        assert change.status_code in (200, 404), change.content
        assert leave.status_code == 204, leave.content  # a member (or admin) may always leave
        assert role_of(a.org, x) is None
        assert len(events(a, action="member.removed", target_id=x.id)) == 1
        assert len(events(a, action="member.role_changed", target_id=x.id)) == (
            change.status_code == 200
        )
    assert_globex_untouched(world, users)
    print("outcomes (change, leave):", sorted(seen))


def test_two_removals_of_one_member(world):
    a = world.a
    seen = set()
    users = []
    for _ in range(ROUNDS):
        x = make_user(unique_email("removed"))
        add_member(a.org, x, "member")
        users.append(x.id)
        first, second = race(
            lambda x=x: client(world, a, a.owner).delete(f"/members/{x.id}"),
            lambda x=x: client(world, a, a.admin).delete(f"/members/{x.id}"),
        )
        seen.add((first.status_code, second.status_code))
        assert sorted(codes(first, second)) == [204, 404], (first.content, second.content)
        assert role_of(a.org, x) is None
        assert len(events(a, action="member.removed", target_id=x.id)) == 1
    assert_globex_untouched(world, users)
    print("outcomes:", sorted(seen))


def test_admin_demotion_races_owner_promotion(world):
    """An admin demotes X (admin -> member) while an owner makes X an owner.
    Serial orders: demote then promote (both 200) or promote then demote (the
    admin may not touch an owner: 409). X ends an owner either way, and no
    event ever shows the admin changing an owner's role."""
    a = world.a
    seen: dict = {}
    bad: list = []
    users = []
    for _ in range(ROUNDS):
        x = make_user(unique_email("x"))
        add_member(a.org, x, "admin")
        users.append(x.id)
        demote, promote = race(
            lambda x=x: client(world, a, a.admin).patch(f"/members/{x.id}", {"role": "member"}),
            lambda x=x: client(world, a, a.owner).patch(f"/members/{x.id}", {"role": "owner"}),
        )
        key = (demote.status_code, promote.status_code)
        seen[key] = seen.get(key, 0) + 1
        final = role_of(a.org, x)
        changes = [
            (e.actor_id, e.changes["role"])
            for e in events(a, action="member.role_changed", target_id=x.id)
        ]
        if demote.status_code == 200:  # demote, then promote
            expected = [
                (a.admin.id, {"from": "admin", "to": "member"}),
                (a.owner.id, {"from": "member", "to": "owner"}),
            ]
        else:  # promote, then the admin's demotion is refused
            expected = [(a.owner.id, {"from": "admin", "to": "owner"})]
        # 409: the promotion committed between the demotion's read and its lock;
        # 403: it had committed before the demotion request even read X (plain serial order)
        if (
            promote.status_code != 200
            or demote.status_code not in (200, 403, 409)
            or final != "owner"
            or changes != expected
        ):
            bad.append((key, final, changes))
        # cleanup: the owner removes X (acme keeps its one seeded owner for other tests)
        assert client(world, a, a.owner).delete(f"/members/{x.id}").status_code == 204
    assert_globex_untouched(world, users)
    print(f"outcomes (demote, promote) over {ROUNDS} rounds:", seen)
    assert bad == [], f"{len(bad)} bad outcomes: {bad}"


def test_admins_demoting_each_other(world):
    """Two admins demote each other at once: the second finds its own role
    gone under the lock (the actor's row is re-read): exactly one wins."""
    a = world.a
    users = []
    seen = set()
    for _ in range(ROUNDS):
        x, y = make_user(unique_email("x")), make_user(unique_email("y"))
        add_member(a.org, x, "admin")
        add_member(a.org, y, "admin")
        users += [x.id, y.id]
        r1, r2 = race(
            lambda x=x, y=y: client(world, a, x).patch(f"/members/{y.id}", {"role": "member"}),
            lambda x=x, y=y: client(world, a, y).patch(f"/members/{x.id}", {"role": "member"}),
        )
        # the loser: 409 if demoted between its read and its lock, 403 if before its request read its role
        assert sorted(codes(r1, r2)) in ([200, 403], [200, 409]), (r1.content, r2.content)
        seen.add(tuple(sorted(codes(r1, r2))))
        assert sorted([role_of(a.org, x), role_of(a.org, y)]) == ["admin", "member"]
        assert len(events(a, action="member.role_changed", target_id__in=[x.id, y.id])) == 1
    assert_globex_untouched(world, users)
    print("outcomes:", sorted(seen))


@pytest.fixture
def admin_client_factory(world):
    """Clients signed in to the Django admin as the operator (root host)."""
    from django.test import Client

    def make():
        c = Client(HTTP_HOST="localhost", raise_request_exception=False)
        c.force_login(world.operator)
        return c

    return make


@pytest.fixture
def two_owner_org(world):
    """A fresh organization whose only owners are O1 and O2 (plus a member)."""
    from provisioning.services import org_provision

    o1, o2 = make_user(unique_email("o1")), make_user(unique_email("o2"))
    slug = f"race-{uuid.uuid4().hex[:10]}"
    org = org_provision(owner=o1, name="Race", slug=slug)
    add_member(org, o2, "owner")
    return org, o1, o2


def _count(ow, **filters) -> int:
    return len(events(ow, **filters))


def test_two_owners_demoting_each_other_keep_an_owner(world, two_owner_org):
    """O1 demotes O2 while O2 demotes O1, with a third owner O3 present (so the
    last-owner rule does not decide it): one wins, the other finds itself no
    longer an owner on its locked row (409, or 403 if demoted before its request
    read its role): the actor's own membership is re-read under the lock."""
    from shared_apps.orgs.models import Membership

    org, o1, o2 = two_owner_org
    o3 = make_user(unique_email("o3"))
    add_member(org, o3, "owner")
    ow = OrgWorld(org=org, host=org.primary_domain, owner=o1, admin=None, member=None)
    seen = set()
    for _ in range(ROUNDS):
        before = _count(ow, action="member.role_changed")
        r1, r2 = race(
            lambda: client(world, ow, o1).patch(f"/members/{o2.id}", {"role": "admin"}),
            lambda: client(world, ow, o2).patch(f"/members/{o1.id}", {"role": "admin"}),
        )
        assert sorted(codes(r1, r2)) in ([200, 403], [200, 409]), (r1.content, r2.content)
        seen.add(tuple(sorted(codes(r1, r2))))
        owners = list(
            Membership.objects.filter(
                organization=org, role="owner", user__in=[o1, o2]
            ).values_list("user_id", flat=True)
        )
        assert len(owners) == 1
        assert _count(ow, action="member.role_changed") == before + 1
        # the remaining owner makes the other an owner again for the next round
        winner, loser = (o1, o2) if owners[0] == o1.id else (o2, o1)
        assert (
            client(world, ow, winner).patch(f"/members/{loser.id}", {"role": "owner"}).status_code
            == 200
        )
    assert_globex_untouched(world, [o1.id, o2.id])
    print("outcomes:", sorted(seen))


def test_two_owners_leaving_at_once_keep_an_owner(world, two_owner_org):
    """The last-owner rule under concurrency: both owners leave; one must stay (409 last_owner)."""
    from shared_apps.orgs.models import Membership

    org, o1, o2 = two_owner_org
    ow = OrgWorld(org=org, host=org.primary_domain, owner=o1, admin=None, member=None)
    for _ in range(ROUNDS):
        before = _count(ow, action="member.removed")
        r1, r2 = race(
            lambda: client(world, ow, o1).delete(f"/members/{o1.id}"),
            lambda: client(world, ow, o2).delete(f"/members/{o2.id}"),
        )
        assert sorted(codes(r1, r2)) == [204, 409], (r1.content, r2.content)
        assert (r1 if r1.status_code == 409 else r2).json()["code"] == "last_owner"
        owners = list(
            Membership.objects.filter(organization=org, role="owner").values_list(
                "user_id", flat=True
            )
        )
        assert len(owners) == 1
        assert _count(ow, action="member.removed") == before + 1
        gone = o2 if owners[0] == o1.id else o1
        add_member(org, gone, "owner")  # setup for the next round
    assert_globex_untouched(world, [o1.id, o2.id])


# --- operators (admin and API paths) go through the same locked core --------------------


def test_operator_removals_race_an_owner_removal(world, admin_client_factory):
    """Two operators remove X in the admin while an owner removes X over the API:
    X is removed once (one member.removed event, one PlatformEvent at most per
    effective removal), no 500 anywhere."""
    from shared_apps.orgs.models import Membership, PlatformEvent

    a = world.a
    users = []
    for _ in range(ROUNDS // 2):
        x = make_user(unique_email("x"))
        m = add_member(a.org, x, "member")
        users.append(x.id)
        ops = [admin_client_factory(), admin_client_factory()]
        r_admin1, r_admin2, r_api = race(
            lambda op=ops[0], m=m: op.post(
                f"/admin/orgs/membership/{m.pk}/delete/", {"post": "yes"}
            ),
            lambda op=ops[1], m=m: op.post(
                f"/admin/orgs/membership/{m.pk}/delete/", {"post": "yes"}
            ),
            lambda x=x: client(world, a, a.owner).delete(f"/members/{x.id}"),
        )
        assert r_admin1.status_code == 302 and r_admin2.status_code == 302, (r_admin1, r_admin2)
        assert r_api.status_code in (204, 404), r_api.content
        assert not Membership.objects.filter(id=m.id).exists()
        assert len(events(a, action="member.removed", target_id=x.id)) == 1
        platform = PlatformEvent.objects.filter(
            action="member.removed", changes__user_id=str(x.id)
        ).count()
        assert platform == (0 if r_api.status_code == 204 else 1)
    assert_globex_untouched(world, users)


def test_operator_demotions_keep_the_last_owner(world, two_owner_org):
    """Operators demote both owners of an organization at once (service level,
    as the admin and the operator API call it): one wins, the other 409."""
    from platform_core.errors import Conflict
    from provisioning.services import membership_set_role
    from shared_apps.orgs.models import Membership

    org, o1, o2 = two_owner_org
    for _ in range(ROUNDS // 2):
        m1, m2 = (Membership.objects.get(organization=org, user=u) for u in (o1, o2))

        def demote(m):
            try:
                membership_set_role(
                    membership=m, role="admin", actor_id=world.operator.id, via="api"
                )
                return "ok"
            except Conflict as exc:
                return exc.code

        results = race(lambda m=m1: demote(m), lambda m=m2: demote(m))
        assert sorted(results) == ["last_owner", "ok"]
        assert Membership.objects.filter(organization=org, role="owner").count() == 1
        Membership.objects.filter(organization=org).update(role="owner")  # setup for the next round


# --- the same races against a real server (granian, its own processes) -------------------


def test_real_server_role_change_races_leave_and_double_removal(world, granian):
    """The reported 500 (`Save with update_fields did not affect any rows`) and
    the double `member.removed`, reproduced over HTTP against granian."""
    from proof.harness import http

    a = world.a

    def call(user, method, path, body=None):
        return http(granian.url, method, path, host=a.host, token=world.token(user), body=body)[0]

    seen: dict = {}
    bad: list = []  # every round's departure from the contract (all rounds run: before/after figures)
    for n in range(ROUNDS):
        x = make_user(unique_email("leaver"))
        add_member(a.org, x, "member")
        owner_token, x_token = world.token(a.owner), world.token(x)
        for token in (owner_token, x_token):  # warm the auth caches: an even start
            assert http(granian.url, "GET", "/org", host=a.host, token=token)[0] == 200
        change, leave = race(
            lambda x=x, t=owner_token: http(
                granian.url,
                "PATCH",
                f"/members/{x.id}",
                host=a.host,
                token=t,
                body={"role": "admin"},
            )[0],
            lambda x=x, t=x_token: http(
                granian.url, "DELETE", f"/members/{x.id}", host=a.host, token=t
            )[0],
        )
        key = ("change/leave", change, leave)
        seen[key] = seen.get(key, 0) + 1
        removed = len(events(a, action="member.removed", target_id=x.id))
        changed = len(events(a, action="member.role_changed", target_id=x.id))
        if change not in (200, 404) or leave != 204 or removed != 1 or changed != (change == 200):
            bad.append((n, key, f"removed events {removed}, role events {changed}"))

        y = make_user(unique_email("removed"))
        add_member(a.org, y, "member")
        first, second = race(
            lambda y=y: call(a.owner, "DELETE", f"/members/{y.id}"),
            lambda y=y: call(a.admin, "DELETE", f"/members/{y.id}"),
        )
        key = ("remove/remove", *sorted((first, second)))
        seen[key] = seen.get(key, 0) + 1
        removed = len(events(a, action="member.removed", target_id=y.id))
        if sorted((first, second)) != [204, 404] or removed != 1:
            bad.append((n, key, f"removed events {removed}"))
    print(f"outcomes over {ROUNDS} rounds:", seen)
    assert bad == [], f"{len(bad)} bad outcomes: {bad}"
    assert "Traceback" not in granian.log_tail(20000)
