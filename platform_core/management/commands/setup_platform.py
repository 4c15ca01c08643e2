"""Bring the database up to date: shared (public) schema, then every tenant schema. Idempotent."""

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Migrate the public schema and every organization schema (idempotent)."

    def handle(self, *args, **options):
        verbosity = options.get("verbosity", 1)
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        call_command("migrate_schemas", tenant=True, interactive=False, verbosity=verbosity)
        self.stdout.write(self.style.SUCCESS("platform ready"))
