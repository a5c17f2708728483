import logging

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from holdings.services.demo import demo_load
from holdings.tasks import import_batch
from ledger.errors import LedgerError


class Command(BaseCommand):
    help = (
        "Load the demonstration data (Cango's fourth quarter of 2025, fixtures/demo) through "
        "the import task. Running it again imports nothing twice."
    )

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        # One line per batch would drown the progress bar; failures still raise.
        for name in ("celery.app.trace", "holdings.services.production"):
            logging.getLogger(name).setLevel(logging.WARNING)
        try:
            demo_load(
                run_batch=lambda batch_id: import_batch.apply(args=[batch_id], throw=True),
                say=self.stdout.write,
                progress=lambda rows: tqdm(rows, desc="demo pool files", unit="file"),
            )
        except LedgerError as exc:
            raise CommandError(exc.message) from exc
