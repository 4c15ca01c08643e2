from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from provisioning.management.commands._common import operator_errors, org_line
from provisioning.services import org_delete, org_get_for_operator


class Command(BaseCommand):
    help = (
        "Delete an organization: its hosts stop answering at once and its slug is freed; "
        "the schema is dropped by drop_deleted_schemas after ORG_DELETE_RETENTION_DAYS."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive")

    def handle(self, *args, **options):
        with operator_errors():
            org = org_get_for_operator(slug=options["slug"])
            if options["interactive"]:
                answer = input(f"Delete {org_line(org)}? Type the slug to confirm: ")
                if answer.strip() != org.slug:
                    raise CommandError("Not confirmed; nothing deleted.")
            org = org_delete(org=org, actor_id=None, via="cli")
        self.stdout.write(
            self.style.SUCCESS(
                f"deleted {org_line(org)}; schema dropped after {settings.ORG_DELETE_RETENTION_DAYS} days"
            )
        )
