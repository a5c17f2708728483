from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from holdings.management.files import read_file
from holdings.models import BatchStatus, ImportBatch, ImportSource
from holdings.services import production
from holdings.tasks import import_batch
from ledger.errors import LedgerError


class Command(BaseCommand):
    help = (
        "Import pool files (one batch per file, each through the Celery task "
        "holdings.import_batch). With --sync the task runs here, with a progress bar."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("files", nargs="*", metavar="FILE")
        parser.add_argument("--source", choices=ImportSource.values)
        parser.add_argument(
            "--pool-account", help="code of the pool account (csv files may name it per row)"
        )
        parser.add_argument("--sync", action="store_true", help="run here and wait")
        parser.add_argument(
            "--retry", type=int, metavar="BATCH", help="import a failed or stalled batch again"
        )

    def handle(self, *args, files, source, pool_account, sync, retry, **options):  # type: ignore[no-untyped-def]
        if retry is not None:
            batch_ids = [self._retry(retry)]
        else:
            if not files or not source:
                raise CommandError("give --source and at least one FILE (or --retry BATCH)")
            batch_ids = [self._create(Path(f), source, pool_account) for f in files]
        if not sync:
            for batch_id in batch_ids:
                import_batch.delay(batch_id)
            self.stdout.write(
                f"queued batch(es) {', '.join(map(str, batch_ids))}; "
                f"GET /api/v1/imports/<id>/ shows their status"
            )
            return
        failed = []
        for batch_id in tqdm(batch_ids, desc="importing", unit="file", disable=len(batch_ids) < 2):
            import_batch.apply(args=[batch_id], throw=True)
            batch = ImportBatch.objects.get(pk=batch_id)
            self.stdout.write(
                f"batch {batch.pk} {batch.file_name}: {batch.status}, "
                f"{batch.records_created} created, {batch.records_skipped} already there"
            )
            if batch.status == BatchStatus.FAILED:
                failed.append(batch)
                for error in batch.errors:
                    self.stderr.write(f"  {_describe(error)}")
        if failed:
            raise CommandError(
                f"{len(failed)} of {len(batch_ids)} batch(es) failed; nothing of those was imported"
            )

    def _create(self, path: Path, source: str, pool_account: str | None) -> int:
        content = read_file(path)
        try:
            batch = production.import_batch_create(
                source=source, file_name=path.name, content=content, pool_account=pool_account
            )
        except LedgerError as exc:
            raise CommandError(exc.message) from exc
        return batch.pk

    def _retry(self, batch_id: int) -> int:
        try:
            return production.import_batch_retry(batch=batch_id).pk
        except ImportBatch.DoesNotExist:
            raise CommandError(f"no batch {batch_id}") from None
        except LedgerError as exc:
            raise CommandError(exc.message) from exc


def _describe(error: dict) -> str:  # type: ignore[type-arg]
    where = error.get("file") or ""
    if error.get("row") is not None:
        where += f", row {error['row']}"
    if error.get("field"):
        where += f", field {error['field']}"
    return f"{where}: {error['message']}" if where else error["message"]
