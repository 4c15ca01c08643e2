import threading
import uuid

import pytest


@pytest.fixture(autouse=True)
def _world(world):
    """Every test here uses `world`, so transactional tests get the session's public rows back."""
    return world


@pytest.fixture
def new_org(world):
    """`new_org(owner=None)` -> a fresh active organization (never touch world.a/world.b here)."""
    from provisioning.services import org_provision
    from tests.support import make_user, unique_email

    def make(owner=None, slug: str | None = None):
        owner = owner or make_user(unique_email("owner"))
        slug = slug or f"org-{uuid.uuid4().hex[:10]}"
        return org_provision(owner=owner, name=slug.title(), slug=slug)

    return make


@pytest.fixture
def operator_api(api, world):
    return api("root", world.operator)


def events(action: str, org=None):
    from shared_apps.orgs.models import PlatformEvent

    queryset = PlatformEvent.objects.filter(action=action)
    if org is not None:
        queryset = queryset.filter(organization_id=org.id)
    return list(queryset.order_by("at"))


def run_threads(target, args_list):
    """Run target(*args) in one thread each, started together; returns (results, errors)."""
    from django.db import connection

    barrier = threading.Barrier(len(args_list))
    results, errors = [None] * len(args_list), [None] * len(args_list)

    def worker(i, args):
        try:
            barrier.wait()
            results[i] = target(*args)
        except Exception as exc:  # reported to the test
            errors[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, a)) for i, a in enumerate(args_list)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results, errors
