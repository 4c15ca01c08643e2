"""Migrate the public schema, then every tenant schema that is behind, in parallel."""

import json
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from provisioning import fleet
from provisioning.services import FLEET_MIGRATION_LOCK, advisory_lock, platform_event


class Command(BaseCommand):
    help = (
        "Migrate the public schema (migrate_schemas --shared), then every organization schema "
        "(spares and not-yet-dropped tombstones included) that has unapplied migrations. "
        "Up-to-date schemas are found with one SQL statement and skipped. Exits non-zero "
        "if any schema failed; rerun to resume."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--workers", type=int, default=2, help="Parallel worker processes (default 2)."
        )
        parser.add_argument(
            "--skip-shared", action="store_true", help="Do not migrate the public schema first."
        )
        parser.add_argument(
            "--schema", action="append", dest="schemas", help="Only this schema (repeatable)."
        )
        parser.add_argument(
            "--plan", action="store_true", help="Show what is behind; migrate nothing."
        )
        parser.add_argument(
            "--report", help="Write a JSON report (per-schema results) to this file."
        )
        parser.add_argument(
            "--lock-wait",
            type=float,
            default=600.0,
            help="Seconds to wait for another fleet migration to finish (default 600).",
        )

    def handle(self, *args, **options):
        verbosity = options["verbosity"]
        started = time.perf_counter()
        with advisory_lock(FLEET_MIGRATION_LOCK, wait_seconds=options["lock_wait"]) as acquired:
            if not acquired:
                raise CommandError("Another fleet migration is running; try again later.")
            if not options["skip_shared"] and not options["plan"]:
                call_command(
                    "migrate_schemas",
                    shared=True,
                    interactive=False,
                    verbosity=max(verbosity - 1, 0),
                )
            plan = fleet.fleet_plan(schemas=options["schemas"])
            self.stderr.write(
                f"fleet: {len(plan.up_to_date) + len(plan.pending)} schemas, {len(plan.up_to_date)} up to date, "
                f"{len(plan.pending)} to migrate ({plan.expected_count} migrations on disk; "
                f"planned with {plan.statements} statement(s))"
            )
            if options["plan"]:
                for schema_name in plan.pending:
                    self.stdout.write(schema_name)
                return
            progress = fleet.Progress(len(plan.pending), stream=self.stderr._out)
            results = fleet.run_migrations(
                plan.pending, workers=options["workers"], on_result=progress.update
            )
            progress.close()

        failed = [r for r in results if not r.ok]
        failed += [fleet.SchemaResult(s, False, 0.0, "schema does not exist") for s in plan.missing]
        elapsed = time.perf_counter() - started
        summary = {
            "schemas": len(plan.up_to_date) + len(plan.pending) + len(plan.missing),
            "up_to_date": len(plan.up_to_date),
            "migrated": sum(r.ok for r in results),
            "failed": {r.schema_name: r.error for r in failed},
            "seconds": round(elapsed, 3),
        }
        if results or failed:
            platform_event(actor_id=None, action="fleet.migrated", org=None, changes=summary)
        if options["report"]:
            with open(options["report"], "w") as fh:
                json.dump({**summary, "results": [r.__dict__ for r in results]}, fh, indent=2)
        for result in failed:
            self.stderr.write(self.style.ERROR(f"FAILED {result.schema_name}: {result.error}"))
        line = (
            f"fleet: {summary['migrated']} migrated, {summary['up_to_date']} skipped (up to date), "
            f"{len(failed)} failed in {elapsed:.2f}s"
        )
        if failed:
            raise CommandError(
                line + "; rerun migrate_fleet after fixing them (done schemas are skipped)."
            )
        self.stdout.write(self.style.SUCCESS(line))
