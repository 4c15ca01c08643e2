"""Invite emails link to the front end's page (settings.INVITE_URL_TEMPLATE),
per organization: each organization's link carries its own host and slug."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from tenant_apps.invites.jobs import accept_url

pytestmark = pytest.mark.django_db


def test_default_link_on_the_organization_host(world, settings):
    settings.PUBLIC_URL_SCHEME, settings.PUBLIC_URL_PORT = "https", ""
    assert accept_url(world.a.org, "tok-1") == "https://acme.localhost/invites/accept?token=tok-1"
    assert accept_url(world.b.org, "tok-1") == "https://globex.localhost/invites/accept?token=tok-1"


def test_configured_front_end_page(world, settings):
    settings.INVITE_URL_TEMPLATE = "https://app.example.com/join/{slug}#token={token}"
    assert accept_url(world.a.org, "a_B-9") == "https://app.example.com/join/acme#token=a_B-9"
    assert accept_url(world.b.org, "a_B-9") == "https://app.example.com/join/globex#token=a_B-9"


@pytest.mark.parametrize("template", ["https://app.example.com/join", "{org_url}/x?t={tokn}", "{org_url}/{"])
def test_bad_templates_refused_at_start(template, monkeypatch):
    import importlib

    import platform_core.settings as module

    monkeypatch.setenv("INVITE_URL_TEMPLATE", template)
    try:
        with pytest.raises(ImproperlyConfigured):
            importlib.reload(module)
    finally:
        monkeypatch.delenv("INVITE_URL_TEMPLATE")
        importlib.reload(module)
