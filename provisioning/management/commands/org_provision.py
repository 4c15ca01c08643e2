from django.core.management.base import BaseCommand

from provisioning.management.commands._common import operator_errors, org_line
from provisioning.services import org_provision_for_email


class Command(BaseCommand):
    help = "Create an organization for an existing user (from the spare pool when it has one)."

    def add_arguments(self, parser):
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--slug", required=True)
        parser.add_argument("--name", required=True)

    def handle(self, *args, **options):
        with operator_errors():
            org = org_provision_for_email(
                owner_email=options["owner_email"],
                name=options["name"].strip(),
                slug=options["slug"],
                actor_id=None,
                via="cli",
            )
        self.stdout.write(self.style.SUCCESS(f"created {org_line(org)} at {org.primary_domain}"))
