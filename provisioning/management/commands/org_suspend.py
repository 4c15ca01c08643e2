from django.core.management.base import BaseCommand

from provisioning.management.commands._common import operator_errors, org_line
from provisioning.services import org_get_for_operator, org_suspend


class Command(BaseCommand):
    help = "Suspend an organization: its hosts answer 403 org_suspended at once."

    def add_arguments(self, parser):
        parser.add_argument("slug")

    def handle(self, *args, **options):
        with operator_errors():
            org = org_suspend(
                org=org_get_for_operator(slug=options["slug"]), actor_id=None, via="cli"
            )
        self.stdout.write(self.style.SUCCESS(f"{org_line(org)}"))
