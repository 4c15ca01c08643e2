"""The Django admin on the root host: operators act through the same services and audit."""

import re

import pytest
from django.test import Client

from shared_apps.orgs.models import Domain, Membership, Organization, OrgStatus
from tests.provisioning.conftest import events
from tests.support import add_member, make_user, unique_email

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(world):
    client = Client(HTTP_HOST="localhost")
    client.force_login(world.operator)
    return client


def _action(client, action: str, orgs, **extra):
    data = {"action": action, "_selected_action": [str(o.pk) for o in orgs], **extra}
    return client.post("/admin/orgs/organization/", data)


def test_operator_suspends_resumes_and_deletes_through_the_services(
    admin_client, api, new_org, world
):
    owner = make_user(unique_email())
    org = new_org(owner=owner)
    host = api(org.primary_domain, owner)
    assert host.get("/org").status_code == 200
    assert admin_client.get("/admin/orgs/organization/").status_code == 200
    assert admin_client.get(f"/admin/orgs/organization/{org.pk}/change/").status_code == 200

    _action(admin_client, "suspend_organizations", [org])
    assert host.get("/org").json()["code"] == "org_suspended"
    [event] = events("org.suspended", org)
    assert event.actor_id == world.operator.id and event.changes["via"] == "admin"

    _action(admin_client, "resume_organizations", [org])
    assert host.get("/org").status_code == 200

    r = _action(admin_client, "delete_organizations", [org])
    assert r.status_code == 200 and b"Yes, delete" in r.content  # a confirmation page first
    assert Organization.objects.get(id=org.id).status == OrgStatus.ACTIVE
    _action(admin_client, "delete_organizations", [org], confirm="yes")
    assert Organization.objects.get(id=org.id).status == OrgStatus.DELETED
    assert host.get("/org").json()["code"] == "unknown_host"
    assert events("org.deleted", org)[0].changes["via"] == "admin"


def test_organizations_are_read_only(admin_client, world):
    acme = world.a.org
    r = admin_client.post(
        f"/admin/orgs/organization/{acme.pk}/change/", {"name": "Hacked", "status": "deleted"}
    )
    assert r.status_code in (200, 403)
    assert Organization.objects.get(id=acme.id).name == "Acme"
    assert admin_client.get("/admin/orgs/organization/add/").status_code == 403


def test_non_operators_are_kept_out(world):
    client = Client(HTTP_HOST="localhost")
    client.force_login(world.a.owner)
    r = client.get("/admin/orgs/organization/")
    assert r.status_code == 302 and "/admin/login/" in r["Location"]


def test_custom_domain_and_memberships_go_through_services(admin_client, api, new_org, world):
    owner = make_user(unique_email())
    org = new_org(owner=owner)
    r = admin_client.post(
        "/admin/orgs/domain/add/", {"tenant": str(org.pk), "domain": "Tasks.Example.COM"}
    )
    assert r.status_code == 302, r.content
    assert Domain.objects.get(domain="tasks.example.com").tenant_id == org.id
    assert api("tasks.example.com", owner).get("/org").json()["id"] == str(org.id)
    assert events("org.domain_added", org)
    # hosts under BASE_DOMAIN belong to slugs
    r = admin_client.post(
        "/admin/orgs/domain/add/", {"tenant": str(org.pk), "domain": "other.localhost"}
    )
    assert r.status_code == 200 and not Domain.objects.filter(domain="other.localhost").exists()

    owner_membership = Membership.objects.get(organization=org, user=owner)
    r = admin_client.post(
        f"/admin/orgs/membership/{owner_membership.pk}/change/", {"role": "member"}
    )
    assert r.status_code == 200  # the form error: the last owner cannot be demoted
    assert Membership.objects.get(id=owner_membership.id).role == "owner"

    member = make_user(unique_email())
    r = admin_client.post(
        "/admin/orgs/membership/add/",
        {"organization": str(org.pk), "user": str(member.pk), "role": "admin"},
    )
    assert r.status_code == 302, r.content
    assert api(org.primary_domain, member).get("/org").json()["role"] == "admin"
    m = Membership.objects.get(organization=org, user=member)
    admin_client.post(f"/admin/orgs/membership/{m.pk}/delete/", {"post": "yes"})
    assert (
        api(org.primary_domain, member).get("/org").status_code == 403
    )  # the member cache was invalidated
    assert [e.action for e in events("member.removed", org)] == ["member.removed"]


def test_primary_domain_cannot_be_deleted_in_the_admin(admin_client, new_org):
    org = new_org()
    primary = Domain.objects.get(tenant=org)
    admin_client.post(f"/admin/orgs/domain/{primary.pk}/delete/", {"post": "yes"})
    assert Domain.objects.filter(id=primary.id).exists()


def test_admin_member_removal_keeps_the_last_owner(admin_client, new_org):
    owner = make_user(unique_email())
    org = new_org(owner=owner)
    add_member(org, make_user(unique_email()), "member")
    m = Membership.objects.get(organization=org, user=owner)
    admin_client.post(
        "/admin/orgs/membership/",
        {"action": "delete_selected", "_selected_action": [str(m.pk)], "post": "yes"},
    )
    assert Membership.objects.filter(id=m.id).exists()


def test_deactivating_a_user_in_the_admin_ends_their_sessions(world):
    from shared_apps.accounts.models import AuthSession

    superuser = make_user(unique_email("root"), is_staff=True, is_superuser=True)
    client = Client(HTTP_HOST="localhost")
    client.force_login(superuser)
    user = make_user(unique_email())
    session = AuthSession.objects.create(user=user)
    url = f"/admin/accounts/user/{user.pk}/change/"
    page = client.get(url).content.decode()
    management = dict(re.findall(r'name="([\w-]+-(?:TOTAL|INITIAL|MIN_NUM|MAX_NUM)_FORMS)"[^>]*value="(\d*)"', page))
    assert management, "the change form has no inline management form"
    form = {"email": user.email, "name": user.name, **management}  # is_active unticked
    r = client.post(url, form)
    assert r.status_code == 302, r.content[:2000]
    user.refresh_from_db()
    session.refresh_from_db()
    assert not user.is_active
    assert session.revoked_at is not None and session.revoke_reason == "deactivated"
