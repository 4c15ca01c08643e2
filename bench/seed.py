"""Seed the bench database with N organizations, fast, and write the load targets.

    python bench/seed.py --orgs N --state DIR

The first call makes organization 0, the *template*, the normal way
(`org_provision`: a schema created by migrations) and fills it through the
app's services: a big board of 10 lists x 50 tasks (what `GET /boards/{id}`
serves), a small scratch board of 3 lists x 20 tasks (what the create and
move scenarios change, so they never alter the big board's shape: the
board_write scenarios only rename its tasks), and their audit events.
It then dumps that schema once with pg_dump.

Every other organization is a clone of that dump loaded with psql, with the
schema name replaced and every UUID in it mapped through a per-organization
function (uuid5), so no two organizations share a row id; its public rows
(organization, domain, three users, memberships, auth sessions) are inserted
in bulk. Cloning costs one schema's DDL (~60 ms) instead of a migration run
(~400 ms) and is several times faster than django-tenants' clone_schema.

Later calls with a larger N add the missing organizations. Every call
rewrites DIR/targets.tsv: one line per (organization, user) with the host,
role, a fresh access token and the ids the load scripts need, in a fixed
shuffled order.
"""

import argparse
import json
import os
import random
import re
import subprocess
import time
import uuid
from pathlib import Path
from urllib.parse import unquote, urlparse

from _common import django_setup, log, write_json

ROLES = ("owner", "admin", "member")
BIG_LISTS, BIG_TASKS_PER_LIST = 10, 50
SCRATCH_LISTS, SCRATCH_TASKS_PER_LIST = 3, 20
PRIORITIES = ("low", "medium", "high", "urgent")
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
BATCH = 25  # clones per psql transaction


def slug_of(i: int) -> str:
    return f"bench-{i:04d}"


def map_uuid(old: str | uuid.UUID, i: int) -> uuid.UUID:
    """Organization i's copy of the template's id `old` (identity for the template)."""
    old = uuid.UUID(str(old))
    return old if i == 0 else uuid.uuid5(old, f"bench-org-{i}")


def schema_of(template_org_id: str, i: int) -> str:
    return "t_" + uuid.uuid5(uuid.UUID(template_org_id), f"schema-{i}").hex


# --- the template (organization 0) -------------------------------------------------


def make_template(state_dir: Path) -> dict:
    from django.conf import settings
    from django.contrib.auth.hashers import make_password
    from django_tenants.utils import schema_context

    from platform_core.auth import Actor
    from provisioning.services import org_provision
    from shared_apps.accounts.models import AuthSession, User
    from shared_apps.orgs.models import Membership
    from tenant_apps.boards import services

    t0 = time.perf_counter()
    unusable = make_password(None)
    users = {
        role: User.objects.create(
            email=f"{role}@{slug_of(0)}.test", name=f"{role.title()} 0000", password=unusable
        )
        for role in ROLES
    }
    org = org_provision(owner=users["owner"], name="Bench 0000", slug=slug_of(0))
    t_schema = time.perf_counter() - t0
    for role in ("admin", "member"):
        Membership.objects.create(user=users[role], organization=org, role=role)
    sessions = {role: AuthSession.objects.create(user=users[role]) for role in ROLES}

    t1 = time.perf_counter()
    owner = users["owner"]
    actor = Actor(user_id=owner.id, email=owner.email, name=owner.name, org_id=org.id, role="owner")
    assignees = [users["owner"].id, users["admin"].id, users["member"].id, None]
    from datetime import UTC, datetime, timedelta

    base_due = datetime(2030, 1, 1, tzinfo=UTC)
    with schema_context(org.schema_name):
        big = services.board_create(actor=actor, name="Roadmap", description="10 lists x 50 tasks")
        big_lists, big_tasks = [], []
        for li in range(BIG_LISTS):
            task_list = services.list_create(actor=actor, board=big, name=f"List {li + 1}")
            big_lists.append(str(task_list.id))
            for k in range(BIG_TASKS_PER_LIST):
                n = li * BIG_TASKS_PER_LIST + k
                task = services.task_create(
                    actor=actor,
                    task_list=task_list,
                    title=f"Task {li + 1}.{k + 1}: write the thing",
                    description="Some words about what has to happen, who to ask and when it is due.",
                    assignee_id=assignees[n % 4],
                    priority=PRIORITIES[n % 4],
                    due_at=base_due + timedelta(days=n) if n % 3 else None,
                )
                if k == BIG_TASKS_PER_LIST // 2:  # one per list: what `board_write` renames
                    big_tasks.append(str(task.id))
        scratch = services.board_create(
            actor=actor, name="Scratch", description="written by the load tests"
        )
        scratch_lists, scratch_tasks = [], []
        for li in range(SCRATCH_LISTS):
            task_list = services.list_create(actor=actor, board=scratch, name=f"Column {li + 1}")
            scratch_lists.append(str(task_list.id))
            for k in range(SCRATCH_TASKS_PER_LIST):
                task = services.task_create(
                    actor=actor, task_list=task_list, title=f"Card {li + 1}.{k + 1}"
                )
                scratch_tasks.append(str(task.id))
    t_data = time.perf_counter() - t1

    t2 = time.perf_counter()
    dump = pg_dump_schema(org.schema_name)
    (state_dir / "template.sql").write_text(dump)
    t_dump = time.perf_counter() - t2
    log(
        f"template {org.schema_name}: schema by migrations {t_schema:.2f} s, data via services "
        f"{t_data:.2f} s, pg_dump {t_dump:.2f} s ({len(dump) // 1024} KiB)"
    )
    return {
        "base_domain": settings.BASE_DOMAIN,
        "org_id": str(org.id),
        "schema": org.schema_name,
        "users": {role: str(u.id) for role, u in users.items()},
        "sessions": {role: str(s.id) for role, s in sessions.items()},
        "big_board": str(big.id),
        "big_lists": big_lists,
        "big_tasks": big_tasks,
        "scratch_board": str(scratch.id),
        "scratch_lists": scratch_lists,
        "scratch_tasks": scratch_tasks,
        "orgs": 1,
        "timings": {
            "template_schema_by_migrations_s": round(t_schema, 3),
            "template_data_via_services_s": round(t_data, 3),
            "template_pg_dump_s": round(t_dump, 3),
        },
    }


# --- cloning ------------------------------------------------------------------------------


def _pg_env() -> tuple[list[str], dict]:
    url = urlparse(os.environ["DATABASE_URL"])
    args = [
        "-h",
        url.hostname or "127.0.0.1",
        "-p",
        str(url.port or 5432),
        "-U",
        unquote(url.username or ""),
    ]
    env = {**os.environ, "PGPASSWORD": unquote(url.password or "")}
    return args + ["-d", unquote(url.path.lstrip("/"))], env


def _pg_tool(name: str) -> str:
    bindir = os.environ.get("PG_BIN", "")
    return str(Path(bindir) / name) if bindir else name


def pg_dump_schema(schema: str) -> str:
    args, env = _pg_env()
    out = subprocess.run(
        [_pg_tool("pg_dump"), *args, "-n", schema, "--no-owner", "--no-privileges"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout


class CloneSource:
    """The template's dump split once around its schema name and UUIDs; `render(i)`
    is organization i's copy (about 5 ms, against ~35 ms for a regex pass)."""

    def __init__(self, template_sql: str, template: dict):
        self.template = template
        self.schema = template["schema"]
        self.parts = re.split(f"({re.escape(self.schema)}|{UUID_RE.pattern})", template_sql)
        self.uuids = sorted({p for p in self.parts[1::2] if p != self.schema})

    def render(self, i: int) -> str:
        mapping = {u: str(map_uuid(u, i)) for u in self.uuids}
        mapping[self.schema] = schema_of(self.template["org_id"], i)
        parts = self.parts[:]
        parts[1::2] = [mapping[p] for p in self.parts[1::2]]
        return "".join(parts)


def insert_public_rows(template: dict, indexes: list[int]) -> None:
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from shared_apps.accounts.models import AuthSession, User
    from shared_apps.orgs.models import Domain, Membership, Organization

    unusable = make_password(None)
    orgs, domains, users, memberships, sessions = [], [], [], [], []
    for i in indexes:
        org_id = map_uuid(template["org_id"], i)
        orgs.append(
            Organization(
                id=org_id,
                schema_name=schema_of(template["org_id"], i),
                name=f"Bench {i:04d}",
                slug=slug_of(i),
                status="active",
            )
        )
        domains.append(
            Domain(
                domain=f"{slug_of(i)}.{template['base_domain']}", tenant_id=org_id, is_primary=True
            )
        )
        for role in ROLES:
            user_id = map_uuid(template["users"][role], i)
            users.append(
                User(
                    id=user_id,
                    email=f"{role}@{slug_of(i)}.test",
                    name=f"{role.title()} {i:04d}",
                    password=unusable,
                )
            )
            memberships.append(Membership(user_id=user_id, organization_id=org_id, role=role))
            sessions.append(
                AuthSession(id=map_uuid(template["sessions"][role], i), user_id=user_id)
            )
    # bulk_create: no save() (so django-tenants does not migrate a schema) and no signals.
    with transaction.atomic():
        Organization.objects.bulk_create(orgs)
        Domain.objects.bulk_create(domains)
        User.objects.bulk_create(users)
        Membership.objects.bulk_create(memberships)
        AuthSession.objects.bulk_create(sessions)


def _load_batch(source: CloneSource, indexes: list[int]) -> tuple[float, float]:
    """Create the schemas of organizations `indexes` in one psql transaction; (generate_s, load_s)."""
    args, env = _pg_env()
    ta = time.perf_counter()
    script = "".join(
        ["SET synchronous_commit = off;\nBEGIN;\n"]
        + [source.render(i) for i in indexes]
        + ["\nCOMMIT;\n"]
    )
    tb = time.perf_counter()
    subprocess.run(
        [_pg_tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", *args],
        input=script,
        env=env,
        check=True,
        text=True,
        stdout=subprocess.DEVNULL,
    )
    return tb - ta, time.perf_counter() - tb


def add_clones(state_dir: Path, template: dict, target: int, parallel: int) -> dict:
    """Clone the template into organizations template["orgs"]..target-1, `parallel` psql at a time."""
    from concurrent.futures import ThreadPoolExecutor

    source = CloneSource((state_dir / "template.sql").read_text(), template)
    start = template["orgs"]
    batches = [list(range(b, min(b + BATCH, target))) for b in range(start, target, BATCH)]
    t0 = time.perf_counter()
    t_sql = t_load = t_rows = 0.0
    done = 0
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        futures = [(indexes, pool.submit(_load_batch, source, indexes)) for indexes in batches]
        for indexes, future in futures:
            generate_s, load_s = future.result()
            t_sql += generate_s
            t_load += load_s
            tc = time.perf_counter()
            insert_public_rows(template, indexes)  # once the schemas exist
            t_rows += time.perf_counter() - tc
            before, done = done, done + len(indexes)
            if done // 100 != before // 100 or indexes[-1] + 1 == target:
                log(
                    f"  {indexes[-1] + 1}/{target} organizations ({time.perf_counter() - t0:.1f} s)"
                )
    added = target - start
    total = time.perf_counter() - t0
    template["orgs"] = max(start, target)
    return {
        "added": added,
        "parallel_psql": parallel,
        "total_s": round(total, 2),
        "per_org_ms": round(total / added * 1000, 1) if added else None,
        "sql_generation_cpu_s": round(t_sql, 2),
        "psql_load_s_summed": round(t_load, 2),
        "public_rows_s": round(t_rows, 2),
    }


# --- targets for the load scripts ------------------------------------------------------------


def write_targets(state_dir: Path, template: dict, n_orgs: int) -> int:
    from ninja_jwt.tokens import AccessToken

    lines = []
    for i in range(n_orgs):
        host = f"{slug_of(i)}.{template['base_domain']}"
        board = map_uuid(template["big_board"], i)
        scratch_lists = ",".join(str(map_uuid(x, i)) for x in template["scratch_lists"])
        scratch_tasks = ",".join(str(map_uuid(x, i)) for x in template["scratch_tasks"])
        big_tasks = ",".join(str(map_uuid(x, i)) for x in template["big_tasks"])
        for role in ROLES:
            token = AccessToken()
            token["user_id"] = str(map_uuid(template["users"][role], i))
            token["sid"] = str(map_uuid(template["sessions"][role], i))
            lines.append(
                "\t".join(
                    [host, role, str(token), str(board), scratch_lists, scratch_tasks, big_tasks]
                )
            )
    random.Random(7).shuffle(lines)
    (state_dir / "targets.tsv").write_text("\n".join(lines) + "\n")
    return len(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orgs", type=int, required=True)
    parser.add_argument(
        "--state", required=True, help="folder for template.sql, template.json, targets.tsv"
    )
    parser.add_argument(
        "--parallel", type=int, default=2, help="psql processes loading clones at once"
    )
    options = parser.parse_args()
    state_dir = Path(options.state)
    state_dir.mkdir(parents=True, exist_ok=True)
    django_setup()

    state_file = state_dir / "template.json"
    report: dict = {"orgs": options.orgs}
    t0 = time.perf_counter()
    if state_file.exists():
        template = json.loads(state_file.read_text())
    else:
        template = make_template(state_dir)
        report["template"] = template["timings"]
    if options.orgs > template["orgs"]:
        log(f"cloning organizations {template['orgs']}..{options.orgs - 1} from the template")
        report["clones"] = add_clones(state_dir, template, options.orgs, options.parallel)
    write_json(state_file, template)
    t1 = time.perf_counter()
    report["targets"] = write_targets(state_dir, template, options.orgs)
    report["tokens_s"] = round(time.perf_counter() - t1, 2)
    report["total_s"] = round(time.perf_counter() - t0, 2)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
