"""Organization creation time: from the spare pool, from an empty pool, by plain migration.

    python bench/provision.py --n 60

Runs in-process against its own database (bench/run points DATABASE_URL at
`taskhub_bench_prov`, created empty for each run), N creations per mode:

- pool:  the pool is first filled with N spares by the provisioning code
         (`spare_pool_refill(target=N)`; timed separately: that is the
         background cost), then `org_provision` claims one per call;
- empty: the pool is empty, so `org_provision` creates and migrates the
         schema inside the call (its refill request after commit goes to a
         queue no worker reads during the run);
- plain: django-tenants' default path: `Organization(...).save()` with
         auto_create_schema (migrations), then the domain and the owner's
         membership, no pool code at all.

Prints one JSON line: p50/p95/p99/max per mode, and how each creation was
served (from_pool in the org.created event).
"""

import argparse
import json
import time

from _common import django_setup, log, summary_ms


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=60)
    options = parser.parse_args()
    n = options.n
    django_setup()

    from django.conf import settings
    from django.contrib.auth.hashers import make_password

    from provisioning import services
    from shared_apps.accounts.models import User
    from shared_apps.orgs.models import (
        Domain,
        Membership,
        Organization,
        OrgStatus,
        PlatformEvent,
        new_schema_name,
    )

    owners = User.objects.bulk_create(
        [
            User(email=f"owner{k}@prov.test", name=f"Owner {k}", password=make_password(None))
            for k in range(3 * n)
        ]
    )
    out: dict = {"n": n}

    def spares() -> int:
        return Organization.objects.filter(status=OrgStatus.SPARE).count()

    # --- fill the pool with the provisioning code --------------------------------------
    refill = getattr(services, "spare_pool_refill", None)
    t0 = time.perf_counter()
    if refill is not None:
        refill(target=n)
        how = "provisioning.services.spare_pool_refill(target=N)"
    else:
        try:
            from provisioning.jobs import refill_spare_pool

            refill_spare_pool(target=n)
            how = "provisioning.jobs.refill_spare_pool(target=N)"
        except (ImportError, TypeError):
            for _ in range(n - spares()):
                services.spare_create()
            how = "provisioning.services.spare_create() in a loop"
    made = spares()
    fill_s = time.perf_counter() - t0
    out["pool_fill"] = {
        "how": how,
        "spares": made,
        "seconds": round(fill_s, 2),
        "per_spare_ms": round(fill_s / made * 1000, 1) if made else None,
    }
    log(f"pool filled with {made} spares in {fill_s:.1f} s ({how})")

    def from_pool_flags(orgs) -> dict:
        flags = {True: 0, False: 0, None: 0}
        events = PlatformEvent.objects.filter(
            action="org.created", organization_id__in=[o.id for o in orgs]
        )
        for event in events:
            flags[event.changes.get("from_pool")] += 1
        return {"from_pool": flags[True], "created_in_call": flags[False], "unknown": flags[None]}

    # --- from the pool, then from the empty pool ----------------------------------------------
    owner_iter = iter(owners)
    for mode in ("pool", "empty"):
        if mode == "empty" and spares():
            Organization.objects.filter(status=OrgStatus.SPARE).update(status=OrgStatus.DELETED)
        times, orgs = [], []
        for k in range(n):
            owner = next(owner_iter)
            t = time.perf_counter()
            org = services.org_provision(owner=owner, name=f"{mode} {k}", slug=f"{mode}-{k}")
            times.append(time.perf_counter() - t)
            orgs.append(org)
        out[mode] = {**summary_ms(times), **from_pool_flags(orgs), "spares_left": spares()}
        log(f"{mode}: p50 {out[mode]['p50_ms']} ms, p99 {out[mode]['p99_ms']} ms")

    # --- django-tenants' plain path ---------------------------------------------------------------
    times = []
    for k in range(n):
        owner = next(owner_iter)
        t = time.perf_counter()
        org = Organization(
            schema_name=new_schema_name(), slug=f"plain-{k}", name=f"plain {k}", status="active"
        )
        org.save()  # auto_create_schema: CREATE SCHEMA + migrations
        Domain.objects.create(
            domain=f"plain-{k}.{settings.BASE_DOMAIN}", tenant=org, is_primary=True
        )
        Membership.objects.create(user=owner, organization=org, role="owner")
        times.append(time.perf_counter() - t)
    out["plain"] = summary_ms(times)
    log(f"plain: p50 {out['plain']['p50_ms']} ms, p99 {out['plain']['p99_ms']} ms")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
