"""platform_core.ports: the framework reaches the apps only through functions
the apps register (tests/test_layers.py checks it imports none of them)."""

import pytest

from platform_core import ports
from shared_apps.accounts import ports as accounts_ports
from shared_apps.orgs import ports as orgs_ports
from tenant_apps.tokens import selectors as tokens_selectors


def test_the_apps_register_every_port():
    assert ports._PORTS == {
        "load_user": accounts_ports.load_user,
        "session_owner": accounts_ports.session_owner,
        "load_role": orgs_ports.load_role,
        "load_host": orgs_ports.load_host,
        "schema_is_live": orgs_ports.schema_is_live,
        "load_api_token": tokens_selectors.token_for_auth,
        "touch_api_token": tokens_selectors.token_touch,
    }


def test_an_unregistered_port_says_which(monkeypatch):
    monkeypatch.delitem(ports._PORTS, "load_host")
    with pytest.raises(ports.PortNotRegistered, match="load_host"):
        ports.load_host("acme.localhost")


def test_an_unknown_port_is_refused():
    with pytest.raises(ValueError, match="unknown port"):
        ports.register(load_everything=lambda: None)


@pytest.mark.django_db
def test_the_ports_answer_for_the_right_organization_only(world):
    """Host, role and schema through the ports: acme's host selects acme, and
    a member of acme has no role in globex."""
    a, b = world.a, world.b
    host = ports.load_host(a.host)
    assert host["id"] == str(a.org.id) and host["schema_name"] == a.org.schema_name
    assert ports.load_host("nobody.localhost") is None
    assert ports.load_role(str(a.org.id), str(a.owner.id)) == "owner"
    assert ports.load_role(str(b.org.id), str(a.owner.id)) is None
    assert ports.schema_is_live(a.org.schema_name) and not ports.schema_is_live("t_nope")
    assert ports.load_user(str(a.owner.id))["email"] == a.owner.email
