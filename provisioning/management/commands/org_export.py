from django.core.management.base import BaseCommand

from provisioning.export import archive_counts, org_export, write_archive
from provisioning.management.commands._common import operator_errors
from provisioning.services import org_get_for_export


class Command(BaseCommand):
    help = (
        "Export an organization (or a deleted one, by its former slug, before its schema is dropped) "
        "(tenant rows, organization, domains, memberships) to a JSON archive (.gz: gzip)."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("file")

    def handle(self, *args, **options):
        with operator_errors():
            archive = org_export(
                org=org_get_for_export(slug=options["slug"]), actor_id=None, via="cli"
            )
        write_archive(archive, options["file"])
        counts = ", ".join(f"{model}={n}" for model, n in archive_counts(archive).items())
        self.stdout.write(
            self.style.SUCCESS(
                f"exported {options['slug']} to {options['file']}: {len(archive['memberships'])} members; {counts}"
            )
        )
