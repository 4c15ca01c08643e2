from django.core.management.base import BaseCommand

from provisioning.services import drop_expired_schemas


class Command(BaseCommand):
    help = "Drop the schemas of organizations deleted more than ORG_DELETE_RETENTION_DAYS ago (the scheduled job)."

    def handle(self, *args, **options):
        dropped = drop_expired_schemas(limit=10_000)
        for schema_name in dropped:
            self.stdout.write(f"dropped {schema_name}")
        self.stdout.write(self.style.SUCCESS(f"{len(dropped)} schema(s) dropped"))
