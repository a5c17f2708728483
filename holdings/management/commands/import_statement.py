from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from holdings import tasks
from holdings.management.files import read_file
from holdings.models import BatchStatus, StatementKind
from holdings.services import statement_uploads
from ledger.errors import LedgerError


class Command(BaseCommand):
    help = (
        "Upload statements for reconciliation, each read all or nothing by the worker: "
        "custodian (or pool) balances `date,account,commodity,balance`, or a lender's "
        "`date,loan,commodity,principal_outstanding,accrued_interest,collateral_units`. "
        "With --sync, each file is read here and now instead."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--kind", required=True, choices=StatementKind.values)
        parser.add_argument(
            "--sync",
            action="store_true",
            help="Read each file in this process and wait for it, instead of queueing it.",
        )
        parser.add_argument("file", nargs="+", type=Path)

    def handle(self, *args, kind, sync, file, **options):  # type: ignore[no-untyped-def]
        for path in file:
            content = read_file(path)
            try:
                with transaction.atomic():
                    upload, queued = statement_uploads.statement_upload_create(
                        kind=kind, file_name=path.name, content=content
                    )
                    if queued and not sync:
                        transaction.on_commit(
                            lambda pk=upload.pk: tasks.import_statement_upload.delay(pk)
                        )
            except LedgerError as exc:
                raise CommandError(exc.message) from exc
            if not queued:
                self.stdout.write(
                    f"{path.name}: already uploaded as upload {upload.pk} "
                    f"({upload.get_status_display().lower()}"
                    + (f", statement {upload.statement_id}" if upload.statement_id else "")
                    + ")"
                )
                continue
            if not sync:
                self.stdout.write(f"{path.name}: upload {upload.pk} queued")
                continue
            upload = statement_uploads.statement_upload_run(upload_id=upload.pk)
            if upload.status != BatchStatus.SUCCEEDED:
                raise CommandError(
                    f"{path.name}: upload {upload.pk} refused:\n"
                    + "\n".join(
                        f"  row {e.get('row') or '-'}, field {e.get('field') or '-'}: "
                        f"{e['message']}"
                        for e in upload.errors
                    )
                )
            assert upload.statement is not None
            self.stdout.write(
                f"{path.name}: statement {upload.statement_id}, "
                f"{upload.statement.lines_count} lines"
            )
