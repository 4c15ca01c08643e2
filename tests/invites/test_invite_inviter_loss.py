"""Invites do not outlive their inviter's right to make them (issue 11, finding 8).

An admin invites a second address as admin, then is removed (or leaves, is
demoted, is deactivated): the pending invites they may no longer make are
revoked in the same transaction, each with an `invite.revoked` event naming
the reason, and acceptance re-checks the inviter's right anyway (410).
Organization B's invites are never touched.
"""


import pytest
from django_tenants.utils import tenant_context

from tests.invites.helpers import invite, signed_in, token_of
from tests.support import ApiClient, add_member, make_user, race, unique_email


def _row(org, invite_id):
    from tenant_apps.invites.models import Invite

    with tenant_context(org):
        return Invite.objects.get(id=invite_id)


def _revoked_events(org, invite_id) -> list:
    from tenant_apps.audit.models import AuditEvent

    with tenant_context(org):
        return list(AuditEvent.objects.filter(action="invite.revoked", target_id=invite_id))


def _accept(world, org_world, user, token):
    return ApiClient(world.host(org_world), token=signed_in(user)).post(
        "/invites/accept", {"token": token}
    )


def _assert_revoked(org, invite_id, *, reason: str, actor_id) -> None:
    row = _row(org, invite_id)
    assert (row.state, row.revoke_reason, row.revoked_by) == ("revoked", reason, actor_id)
    [event] = _revoked_events(org, invite_id)
    assert event.actor_id == actor_id
    assert event.changes["reason"] == reason and event.changes["status"] == {
        "from": "pending",
        "to": "revoked",
    }


def _globex_invite(api, world) -> str:
    r = invite(api, world.b, world.b.admin, unique_email("globex-guest"), "admin")
    assert r.status_code == 201, r.content
    return r.json()["id"]


def _assert_globex_pending(world, invite_id) -> None:
    assert _row(world.b.org, invite_id).state == "pending"
    assert _revoked_events(world.b.org, invite_id) == []


@pytest.mark.django_db
class TestRevokedWhenTheInviterLosesTheRight:
    def test_removed_admin_invites_are_revoked(self, api, world):
        """The reported attack: an admin invites a second address as admin, is
        removed, and the invite used to still work."""
        a = world.a
        b_invite = _globex_invite(api, world)
        email = unique_email("accomplice")
        created = invite(api, a, a.admin, email, "admin").json()
        assert api(a, a.owner).delete(f"/members/{a.admin.id}").status_code == 204

        _assert_revoked(a.org, created["id"], reason="inviter_removed", actor_id=a.owner.id)
        r = _accept(world, a, make_user(email), token_of(created["id"]))
        assert r.status_code == 410 and r.json()["code"] == "invite_revoked"
        _assert_globex_pending(world, b_invite)

    def test_leaving_admin_invites_are_revoked(self, api, world):
        a = world.a
        email = unique_email("guest")
        created = invite(api, a, a.admin, email, "member").json()
        assert api(a, a.admin).delete(f"/members/{a.admin.id}").status_code == 204
        _assert_revoked(a.org, created["id"], reason="inviter_left", actor_id=a.admin.id)
        assert _accept(world, a, make_user(email), token_of(created["id"])).status_code == 410

    def test_demotion_revokes_only_what_the_new_role_may_not_invite(self, api, world):
        """An owner made admin keeps its admin and member invites; its owner invite goes."""
        a = world.a
        second_owner = make_user(unique_email("owner2"))
        add_member(a.org, second_owner, "owner")
        as_owner = invite(api, a, second_owner, unique_email("o"), "owner").json()
        as_admin_email = unique_email("ad")
        as_admin = invite(api, a, second_owner, as_admin_email, "admin").json()
        assert (
            api(a, a.owner).patch(f"/members/{second_owner.id}", {"role": "admin"}).status_code
            == 200
        )

        _assert_revoked(a.org, as_owner["id"], reason="inviter_demoted", actor_id=a.owner.id)
        assert _row(a.org, as_admin["id"]).state == "pending"
        r = _accept(world, a, make_user(as_admin_email), token_of(as_admin["id"]))
        assert r.status_code == 200 and r.json()["role"] == "admin"

    def test_admin_demoted_to_member_loses_every_invite(self, api, world):
        a = world.a
        ids = [
            invite(api, a, a.admin, unique_email(), role).json()["id"]
            for role in ("admin", "member")
        ]
        assert (
            api(a, a.owner).patch(f"/members/{a.admin.id}", {"role": "member"}).status_code == 200
        )
        for invite_id in ids:
            _assert_revoked(a.org, invite_id, reason="inviter_demoted", actor_id=a.owner.id)

    def test_deactivation_revokes_in_every_organization(self, api, world):
        """A user admin of A and of B: deactivation revokes their invites in both schemas."""
        from shared_apps.accounts.services import user_deactivate

        both = make_user(unique_email("both"))
        add_member(world.a.org, both, "admin")
        add_member(world.b.org, both, "admin")
        in_a = invite(api, world.a, both, unique_email(), "admin").json()["id"]
        in_b = invite(api, world.b, both, unique_email(), "member").json()["id"]
        others = _globex_invite(api, world)  # by B's own admin: untouched
        user_deactivate(user=both, actor_id=world.operator.id)
        _assert_revoked(world.a.org, in_a, reason="inviter_inactive", actor_id=world.operator.id)
        _assert_revoked(world.b.org, in_b, reason="inviter_inactive", actor_id=world.operator.id)
        _assert_globex_pending(world, others)

    def test_removal_from_a_keeps_the_same_inviters_invites_in_b(self, api, world):
        both = make_user(unique_email("both"))
        add_member(world.a.org, both, "admin")
        add_member(world.b.org, both, "admin")
        in_a = invite(api, world.a, both, unique_email(), "admin").json()["id"]
        in_b = invite(api, world.b, both, unique_email(), "admin").json()["id"]
        assert api(world.a, world.a.owner).delete(f"/members/{both.id}").status_code == 204
        assert _row(world.a.org, in_a).state == "revoked"
        _assert_globex_pending(world, in_b)

    def test_operator_removal_revokes_too(self, api, world):
        """Operators (API and admin) remove through the same service."""
        from provisioning.services import membership_remove
        from shared_apps.orgs.models import Membership

        a = world.a
        created = invite(api, a, a.admin, unique_email(), "admin").json()
        membership = Membership.objects.get(organization=a.org, user=a.admin)
        membership_remove(membership=membership, actor_id=world.operator.id, via="admin")
        _assert_revoked(a.org, created["id"], reason="inviter_removed", actor_id=world.operator.id)

    def test_operator_demotion_revokes_too(self, api, world):
        from provisioning.services import membership_set_role
        from shared_apps.orgs.models import Membership

        a = world.a
        created = invite(api, a, a.admin, unique_email(), "member").json()
        membership = Membership.objects.get(organization=a.org, user=a.admin)
        membership_set_role(
            membership=membership, role="member", actor_id=world.operator.id, via="api"
        )
        _assert_revoked(a.org, created["id"], reason="inviter_demoted", actor_id=world.operator.id)

    def test_nothing_revoked_when_the_right_is_kept(self, api, world):
        a = world.a
        created = invite(api, a, a.admin, unique_email(), "admin").json()
        promoted = api(a, a.owner).patch(f"/members/{a.admin.id}", {"role": "owner"})
        assert promoted.status_code == 200
        assert _row(a.org, created["id"]).state == "pending"
        assert _revoked_events(a.org, created["id"]) == []


@pytest.mark.django_db
class TestAcceptanceRechecksTheInviter:
    """Defence in depth: whatever changed the inviter (a path that forgot to
    revoke, a race), acceptance checks that they may still make the invite."""

    def _bypass(self, org, user, **update):
        from shared_apps.orgs.models import Membership

        Membership.objects.filter(organization=org, user=user).update(
            **update
        )  # no service, no revocation

    def test_inviter_demoted_behind_the_services_back(self, api, world):
        a = world.a
        email = unique_email()
        created = invite(api, a, a.admin, email, "admin").json()
        self._bypass(a.org, a.admin, role="member")
        r = _accept(world, a, make_user(email), token_of(created["id"]))
        assert r.status_code == 410 and r.json()["code"] == "invite_revoked"
        assert _row(a.org, created["id"]).state == "pending"  # refused, nothing written

    def test_inviter_removed_behind_the_services_back(self, api, world):
        from shared_apps.orgs.models import Membership

        a = world.a
        email = unique_email()
        created = invite(api, a, a.admin, email, "member").json()
        Membership.objects.filter(organization=a.org, user=a.admin).delete()
        assert _accept(world, a, make_user(email), token_of(created["id"])).status_code == 410

    def test_inviter_deactivated_behind_the_services_back(self, api, world):
        from shared_apps.accounts.models import User

        a = world.a
        email = unique_email()
        created = invite(api, a, a.admin, email, "member").json()
        User.objects.filter(id=a.admin.id).update(is_active=False)
        assert _accept(world, a, make_user(email), token_of(created["id"])).status_code == 410

    def test_inviter_still_allowed_accepts(self, api, world):
        a = world.a
        email = unique_email()
        created = invite(api, a, a.admin, email, "member").json()
        r = _accept(world, a, make_user(email), token_of(created["id"]))
        assert r.status_code == 200 and r.json()["role"] == "member"


ROUNDS = 20


@pytest.mark.django_db(transaction=True)
def test_accept_races_the_inviters_removal(api, world):
    """Real concurrent requests: the invitee accepts while the owner removes the
    inviter. Serial outcomes only: accepted then removed (the invitee stays a
    member), or removed (invite revoked) then 410."""
    from shared_apps.orgs.models import Membership

    a = world.a
    outcomes = set()
    for _ in range(ROUNDS):
        inviter = make_user(unique_email("inviter"))
        add_member(a.org, inviter, "admin")
        email = unique_email("invitee")
        invitee = make_user(email)
        created = invite(api, a, inviter, email, "admin").json()
        token = token_of(created["id"])
        remover = ApiClient(a.host, token=world.token(a.owner))
        acceptor = ApiClient(a.host, token=world.token(invitee))
        results = race(
            lambda c=remover, i=inviter: c.delete(f"/members/{i.id}"),
            lambda c=acceptor, t=token: c.post("/invites/accept", {"token": t}),
        )
        removed, accepted = results
        outcomes.add((removed.status_code, accepted.status_code))
        assert removed.status_code == 204, removed.content
        row = _row(a.org, created["id"])
        joined = Membership.objects.filter(organization=a.org, user=invitee).exists()
        if accepted.status_code == 200:
            assert row.state == "accepted" and joined
        else:
            assert accepted.status_code == 410, accepted.content
            assert row.state == "revoked" and not joined
            assert len(_revoked_events(a.org, created["id"])) == 1
        Membership.objects.filter(
            organization=a.org, user=invitee
        ).delete()  # setup for the next round
    print("outcomes (remove, accept):", sorted(outcomes))


@pytest.mark.django_db(transaction=True)
def test_invite_creation_races_the_inviters_removal(world):
    """The inviter creates an invite while the owner removes them: either the
    removal comes first (the creation is refused: 403 not a member, or 409 if
    removed between its read and its lock) or the invite is created and then
    revoked by the removal. Never a live invite from a removed inviter."""
    from tenant_apps.invites.models import Invite

    a = world.a
    outcomes: dict = {}
    for _ in range(ROUNDS):
        inviter = make_user(unique_email("inviter"))
        add_member(a.org, inviter, "admin")
        remover = ApiClient(a.host, token=world.token(a.owner))
        creator = ApiClient(a.host, token=world.token(inviter))
        for c in (remover, creator):  # warm the auth caches: an even start
            assert c.get("/org").status_code == 200
        removed, created = race(
            lambda c=remover, i=inviter: c.delete(f"/members/{i.id}"),
            lambda c=creator: c.post("/invites", {"email": unique_email("guest"), "role": "admin"}),
        )
        key = (removed.status_code, created.status_code)
        outcomes[key] = outcomes.get(key, 0) + 1
        assert removed.status_code == 204, removed.content
        assert created.status_code in (201, 403, 409), created.content
        with tenant_context(a.org):
            mine = list(Invite.objects.filter(invited_by=inviter.id))
        assert [i.state for i in mine] == (["revoked"] if created.status_code == 201 else [])
        for row in mine:
            assert row.revoke_reason == "inviter_removed"
            assert len(_revoked_events(a.org, row.id)) == 1
    print(f"outcomes (remove, create) over {ROUNDS} rounds:", outcomes)


@pytest.mark.django_db(transaction=True)
def test_real_server_removed_admins_invite_is_dead(world, granian):
    """The reported attack over HTTP against granian: an admin invites an
    accomplice as admin, is removed (then, second case, demoted to member),
    and the accomplice tries the token. Before the fix: 200, an admin joined."""
    from proof.harness import http
    from shared_apps.orgs.models import Membership

    a = world.a
    results = {}
    for how in ("removed", "demoted"):
        admin = make_user(unique_email("rogue-admin"))
        add_member(a.org, admin, "admin")
        email = unique_email("accomplice")
        accomplice = make_user(email)
        status, _, body = http(
            granian.url,
            "POST",
            "/invites",
            host=a.host,
            token=world.token(admin),
            body={"email": email, "role": "admin"},
        )
        assert status == 201, body
        token = token_of(body["id"])
        if how == "removed":
            step = http(
                granian.url,
                "DELETE",
                f"/members/{admin.id}",
                host=a.host,
                token=world.token(a.owner),
            )
        else:
            step = http(
                granian.url,
                "PATCH",
                f"/members/{admin.id}",
                host=a.host,
                token=world.token(a.owner),
                body={"role": "member"},
            )
        assert step[0] in (200, 204), step
        status, _, answer = http(
            granian.url,
            "POST",
            "/invites/accept",
            host=a.host,
            token=world.token(accomplice),
            body={"token": token},
        )
        results[how] = (status, answer.get("code") if isinstance(answer, dict) else answer)
        joined = Membership.objects.filter(organization=a.org, user=accomplice).exists()
        assert joined == (status == 200)
    print("accept after the inviter was removed / demoted:", results)
    assert results == {"removed": (410, "invite_revoked"), "demoted": (410, "invite_revoked")}
