from django.core.management.base import BaseCommand

from provisioning.services import spare_count, spare_pool_refill


class Command(BaseCommand):
    help = "Fill the spare-schema pool up to SPARE_SCHEMA_POOL_SIZE (or --target) now."

    def add_arguments(self, parser):
        parser.add_argument("--target", type=int)

    def handle(self, *args, **options):
        created = spare_pool_refill(target=options["target"])
        self.stdout.write(
            self.style.SUCCESS(f"{created} spare schema(s) created; {spare_count()} in the pool")
        )
