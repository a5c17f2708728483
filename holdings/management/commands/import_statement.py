from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from holdings import reconciliation
from holdings.models import StatementKind
from ledger.errors import LedgerError


class Command(BaseCommand):
    help = (
        "Keep a statement for reconciliation, all or nothing: custodian (or pool) balances "
        "`date,account,commodity,balance`, or a lender's `date,loan,commodity,"
        "principal_outstanding,accrued_interest,collateral_units`."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--kind", required=True, choices=StatementKind.values)
        parser.add_argument("file", nargs="+", type=Path)

    def handle(self, *args, kind, file, **options):  # type: ignore[no-untyped-def]
        for path in file:
            try:
                statement = reconciliation.statement_import(
                    kind=kind, file_name=path.name, content=path.read_bytes()
                )
            except OSError as exc:
                raise CommandError(f"{path}: {exc.strerror}") from exc
            except LedgerError as exc:
                raise CommandError(exc.message) from exc
            self.stdout.write(
                f"{path.name}: statement {statement.pk}, {statement.lines_count} lines"
            )
