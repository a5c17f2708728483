from datetime import date

from django.core.management.base import BaseCommand, CommandError

from holdings.models import ItemStatus, ReconciliationKind, ReconciliationStatus
from holdings.services import reconciliation
from ledger.errors import LedgerError


class Command(BaseCommand):
    help = (
        "Reconcile a UTC day: pool balances, payouts on-chain and unexplained inflows, "
        "wallets, loans and the ledger against itself. Prints every break; exits 1 when "
        "there is one, 2 when something could not be checked."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--date", required=True, type=date.fromisoformat, metavar="YYYY-MM-DD")
        parser.add_argument(
            "--kind",
            action="append",
            choices=ReconciliationKind.values,
            help="one kind (repeat for several; default: all)",
        )
        parser.add_argument("--all-items", action="store_true", help="print matched items too")

    def handle(self, *args, date, kind, all_items, **options):  # type: ignore[no-untyped-def]
        try:
            runs = reconciliation.reconcile(as_of=date, kinds=kind)
        except LedgerError as exc:
            raise CommandError(exc.message) from exc
        for run in runs:
            self.stdout.write(
                f"{run.get_kind_display()} at the end of {run.as_of}: "
                f"{run.get_status_display()} ({run.matched} matched, {run.breaks} breaks, "
                f"{run.unchecked} not checked; run {run.pk})"
            )
            items = run.items.order_by("id")
            if not all_items:
                items = items.exclude(status=ItemStatus.MATCHED)
            for item in items:
                self.stdout.write(f"  [{item.get_status_display()}] {item.message}")
        statuses = {run.status for run in runs}
        if ReconciliationStatus.BREAKS in statuses:
            raise SystemExit(1)
        if ReconciliationStatus.INCOMPLETE in statuses:
            raise SystemExit(2)
