"""Measure `manage.py migrate_fleet` with nothing pending and with one new tenant migration.

    .venv/bin/python bench/fleet_migrations.py --tenants 100 1000 [--workers 2] [--stock]

For each fleet size it (re)creates a scratch database (default
`taskhub_fleet_<pid>`, so concurrent runs do not collide; dropped at the
end), migrates the public schema, makes one tenant schema the
normal way (a spare), and clones it N-1 times with pg_dump + psql (fast; the
point is the command's speed, not the set-up's). A throw-away tenant app
(`fleetbench`, written to a temporary directory, with a settings module that
adds it to TENANT_APPS) provides the "one new migration": after the no-op
runs, its migration 0002 (AddField + AddIndex) is written and migrate_fleet
is timed again. Nothing in the repository is modified. `--stock` also times
django-tenants' own `migrate_schemas --tenant` (no-op) for comparison.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable  # the interpreter bench/run started (its VENV), not a fixed .venv

APP_INIT = ""
APP_MODELS = textwrap.dedent(
    """
    from django.db import models


    class Thing(models.Model):
        name = models.CharField(max_length=50)
    """
)
MIGRATION_1 = textwrap.dedent(
    """
    from django.db import migrations, models


    class Migration(migrations.Migration):
        initial = True
        dependencies = []
        operations = [
            migrations.CreateModel(
                name="Thing",
                fields=[
                    ("id", models.BigAutoField(primary_key=True, serialize=False)),
                    ("name", models.CharField(max_length=50)),
                ],
            ),
        ]
    """
)
MIGRATION_2 = textwrap.dedent(
    """
    from django.db import migrations, models


    class Migration(migrations.Migration):
        dependencies = [("fleetbench", "0001_initial")]
        operations = [
            migrations.AddField("thing", "note", models.CharField(max_length=20, default="", blank=True)),
            migrations.AddIndex("thing", models.Index(fields=["note"], name="thing_note_idx")),
        ]
    """
)
SETTINGS = textwrap.dedent(
    """
    from platform_core.settings import *  # noqa: F403

    TENANT_APPS = [*TENANT_APPS, "fleetbench"]  # noqa: F405
    INSTALLED_APPS = [*INSTALLED_APPS, "fleetbench"]  # noqa: F405
    """
)


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


class Bench:
    def __init__(self, args, workdir: Path):
        self.args = args
        self.workdir = workdir
        self.url = f"postgres://{args.user}:{args.password}@{args.host}:{args.port}/{args.db}"
        self.env = {
            **os.environ,
            "DATABASE_URL": self.url,
            "REDIS_URL": args.redis_url,
            "DJANGO_SETTINGS_MODULE": "fleetbench_settings",
            "PYTHONPATH": f"{workdir}{os.pathsep}{ROOT}",
            "PGPASSWORD": args.password,
            "LOG_LEVEL": "WARNING",
        }
        app = workdir / "fleetbench"
        (app / "migrations").mkdir(parents=True)
        (app / "__init__.py").write_text(APP_INIT)
        (app / "models.py").write_text(APP_MODELS)
        (app / "migrations" / "__init__.py").write_text("")
        (app / "migrations" / "0001_initial.py").write_text(MIGRATION_1)
        (workdir / "fleetbench_settings.py").write_text(SETTINGS)

    def admin_sql(self, sql: str) -> None:
        a = self.args
        with psycopg.connect(
            host=a.host,
            port=a.port,
            user=a.user,
            password=a.password,
            dbname="postgres",
            autocommit=True,
        ) as conn:
            conn.execute(sql)

    def sql(self, sql: str, params=None) -> list:
        with psycopg.connect(self.url, autocommit=True) as conn:
            cur = conn.execute(sql, params)
            return cur.fetchall() if cur.description else []

    def manage(self, *argv: str) -> tuple[float, str]:
        started = time.perf_counter()
        proc = subprocess.run(
            [PYTHON, str(ROOT / "manage.py"), *argv],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        elapsed = time.perf_counter() - started
        if proc.returncode != 0:
            raise SystemExit(f"manage.py {' '.join(argv)} failed:\n{proc.stdout}\n{proc.stderr}")
        return elapsed, proc.stderr + proc.stdout

    def clone(self, template: str, count: int) -> None:
        a = self.args
        dump = subprocess.run(
            [
                "pg_dump",
                "-h",
                a.host,
                "-p",
                str(a.port),
                "-U",
                a.user,
                "-n",
                template,
                "--no-owner",
                a.db,
            ],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        pattern = re.compile(re.escape(template))
        names = [f"t_bench{i:06d}" for i in range(count)]
        env = {**self.env, "PGOPTIONS": "-c synchronous_commit=off"}
        for start in range(0, count, 50):
            batch = names[start : start + 50]
            script = "".join(pattern.sub(name, dump) for name in batch)
            proc = subprocess.run(
                [
                    "psql",
                    "-X",
                    "-q",
                    "-1",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-h",
                    a.host,
                    "-p",
                    str(a.port),
                    "-U",
                    a.user,
                    a.db,
                ],
                input=script,
                env=env,
                capture_output=True,
                text=True,
            )
            if proc.returncode != 0:
                raise SystemExit(f"psql failed cloning {batch[0]}..: {proc.stderr[-2000:]}")
            self.sql(
                "INSERT INTO orgs_organization (id, schema_name, name, status, created_at, deleted_slug)"
                " SELECT gen_random_uuid(), unnest(%s::text[]), '', 'spare', now(), ''",
                [batch],
            )
            if (start + len(batch)) % 200 == 0 or start + len(batch) == count:
                log(f"  cloned {start + len(batch)}/{count}")

    def run(self, tenants: int) -> dict:
        a = self.args
        migration_2 = self.workdir / "fleetbench" / "migrations" / "0002_note.py"
        migration_2.unlink(missing_ok=True)
        self.admin_sql(f'DROP DATABASE IF EXISTS "{a.db}"')
        self.admin_sql(f'CREATE DATABASE "{a.db}"')
        try:
            log(f"{tenants} tenants: migrating public, creating the template schema")
            self.manage("migrate_schemas", "--shared", "-v", "0")
            self.manage("spares_refill", "--target", "1")
            [(template,)] = self.sql(
                "SELECT schema_name FROM orgs_organization WHERE status = 'spare'"
            )
            t0 = time.perf_counter()
            self.clone(template, tenants - 1)
            log(f"  {tenants - 1} clones in {time.perf_counter() - t0:.1f}s")
            assert (
                self.sql("SELECT count(*) FROM orgs_organization WHERE status = 'spare'")[0][0]
                == tenants
            )

            result = {"tenants": tenants}
            workers = str(a.workers)
            result["noop_first"], _ = self.manage("migrate_fleet", "--workers", workers)
            result["noop"], out = self.manage("migrate_fleet", "--workers", workers)
            result["noop_cmd"] = _command_seconds(out)
            log(f"  nothing pending: {result['noop']:.2f}s  ({out.strip().splitlines()[-1]})")
            if a.stock:
                result["stock_noop"], _ = self.manage("migrate_schemas", "--tenant", "-v", "0")
                log(f"  stock migrate_schemas --tenant (no-op): {result['stock_noop']:.2f}s")

            if a.noop_only:
                return result
            migration_2.write_text(MIGRATION_2)
            result["one_pending"], out = self.manage("migrate_fleet", "--workers", workers)
            result["one_pending_cmd"] = _command_seconds(out)
            log(
                f"  one new migration: {result['one_pending']:.2f}s  ({out.strip().splitlines()[-1]})"
            )
            pending = self.sql(
                "SELECT count(*) FROM orgs_organization o WHERE o.schema_name <> 'public' AND NOT EXISTS ("
                " SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = o.schema_name AND c.relname = 'fleetbench_thing')"
            )[0][0]
            assert pending == 0, f"{pending} schemas without the table"
            result["after"], out = self.manage("migrate_fleet", "--workers", workers)
            log(f"  rerun, nothing pending: {result['after']:.2f}s")
            return result
        finally:
            if not a.keep:
                self.admin_sql(f'DROP DATABASE IF EXISTS "{a.db}" WITH (FORCE)')


def _command_seconds(output: str) -> float:
    """The command's own elapsed time (its summary line), without interpreter start-up."""
    match = re.search(r"failed in ([0-9.]+)s", output)
    return float(match.group(1)) if match else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tenants", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--db", default=f"taskhub_fleet_{os.getpid()}", help="Scratch database (dropped)."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=25432)
    parser.add_argument("--user", default="taskhub")
    parser.add_argument("--password", default="taskhub")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:25379/14")
    parser.add_argument(
        "--stock", action="store_true", help="Also time migrate_schemas --tenant (no-op)."
    )
    parser.add_argument("--noop-only", action="store_true", help="Skip the one-new-migration run.")
    parser.add_argument("--keep", action="store_true", help="Keep the scratch database.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="fleetbench-") as tmp:
        bench = Bench(args, Path(tmp))
        results = [bench.run(n) for n in args.tenants]
    print("wall = whole `manage.py migrate_fleet` process (start-up, public schema, plan, run);")
    print(
        "cmd = the command's own summary time (public schema + plan + tenant migrations, no start-up)"
    )
    print(
        f"{'tenants':>8} {'no-op wall':>11} {'no-op cmd':>10} {'1 new wall':>11} {'1 new cmd':>10} {'stock no-op':>12}"
    )
    for r in results:
        stock = f"{r['stock_noop']:.2f}" if "stock_noop" in r else "-"
        one, one_cmd = r.get("one_pending", float("nan")), r.get("one_pending_cmd", float("nan"))
        print(
            f"{r['tenants']:>8} {r['noop']:>11.2f} {r['noop_cmd']:>10.2f} {one:>11.2f}"
            f" {one_cmd:>10.2f} {stock:>12}"
        )


if __name__ == "__main__":
    main()
