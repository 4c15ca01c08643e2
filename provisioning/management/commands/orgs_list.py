import json

from django.core.management.base import BaseCommand

from provisioning.selectors import orgs_all


class Command(BaseCommand):
    help = "List organizations: slug, status, members, created, schema size (spares with --spares)."

    def add_arguments(self, parser):
        parser.add_argument("--status", choices=["active", "suspended", "deleted", "spare"])
        parser.add_argument(
            "--spares", action="store_true", help="Include spare schemas of the pool."
        )
        parser.add_argument("--json", action="store_true", help="One JSON object per line.")

    def handle(self, *args, **options):
        orgs = orgs_all(status=options["status"], include_spares=options["spares"])
        if options["json"]:
            for org in orgs:
                self.stdout.write(
                    json.dumps(
                        {
                            "id": str(org.id),
                            "slug": org.slug,
                            "deleted_slug": org.deleted_slug or None,
                            "name": org.name,
                            "status": org.status,
                            "member_count": org.member_count,
                            "created_at": org.created_at.isoformat(),
                            "schema_name": org.schema_name,
                            "schema_size": org.schema_size,
                        }
                    )
                )
            return
        header = f"{'SLUG':<41}{'STATUS':<11}{'MEMBERS':>8}  {'CREATED':<17}{'SIZE':>10}  SCHEMA"
        self.stdout.write(header)
        for org in orgs:
            slug = org.slug or (f"({org.deleted_slug})" if org.deleted_slug else "-")
            size = "dropped" if org.schema_dropped_at else _human(org.schema_size)
            self.stdout.write(
                f"{slug:<41}{org.status:<11}{org.member_count:>8}  {org.created_at:%Y-%m-%d %H:%M}  "
                f"{size:>10}  {org.schema_name}"
            )
        self.stderr.write(f"{len(orgs)} organization(s)")


def _human(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(size)
