"""Bring the database up to date: shared (public) schema, then every tenant schema. Idempotent."""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from provisioning.services import request_pool_refill


class Command(BaseCommand):
    help = "Migrate the public schema and every organization schema (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--workers", type=int, default=2, help="Parallel tenant migrations (migrate_fleet)."
        )

    def handle(self, *args, **options):
        verbosity = options.get("verbosity", 1)
        # Public schema first, then only the tenant schemas that are behind
        # (raises CommandError, so a non-zero exit, if any schema fails).
        call_command("migrate_fleet", workers=options["workers"], verbosity=verbosity)
        # Fill the spare-schema pool in the background (best effort: the cron refill catches up).
        request_pool_refill()
        self.stdout.write(self.style.SUCCESS("platform ready"))
