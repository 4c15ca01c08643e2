from django.core.management.base import BaseCommand

from provisioning.management.commands._common import operator_errors, org_line
from provisioning.services import org_get_for_operator, org_rename


class Command(BaseCommand):
    help = "Change an organization's slug (its host moves; the schema is untouched), and optionally its name."

    def add_arguments(self, parser):
        parser.add_argument("old_slug")
        parser.add_argument("new_slug")
        parser.add_argument("--name", help="Also set a new display name.")

    def handle(self, *args, **options):
        with operator_errors():
            org = org_rename(
                org=org_get_for_operator(slug=options["old_slug"]),
                actor_id=None,
                slug=options["new_slug"],
                name=options["name"],
                via="cli",
            )
        self.stdout.write(self.style.SUCCESS(f"renamed: {org_line(org)} at {org.primary_domain}"))
