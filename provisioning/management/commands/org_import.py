from django.core.management.base import BaseCommand, CommandError

from provisioning.export import archive_counts, org_import, read_archive
from provisioning.management.commands._common import operator_errors, org_line


class Command(BaseCommand):
    help = (
        "Import an organization archive as a new organization with slug --slug. Members are matched "
        "by email; without --create-missing-users the import refuses if any has no account here."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--slug", required=True)
        parser.add_argument("--name", help="Display name (default: the archive's).")
        parser.add_argument(
            "--create-missing-users",
            action="store_true",
            help="Create members who have no account here, inactive and without a usable password.",
        )

    def handle(self, *args, **options):
        try:
            archive = read_archive(options["file"])
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read {options['file']}: {exc}") from None
        with operator_errors():
            org = org_import(
                archive=archive,
                slug=options["slug"],
                name=options["name"],
                create_missing_users=options["create_missing_users"],
                actor_id=None,
                via="cli",
            )
        counts = ", ".join(f"{model}={n}" for model, n in archive_counts(archive).items())
        self.stdout.write(
            self.style.SUCCESS(f"imported {org_line(org)} at {org.primary_domain}: {counts}")
        )
