from datetime import date

from django.core.management.base import BaseCommand, CommandError

from holdings.services.cost_month_end import costs_month_end
from ledger.errors import LedgerError


class Command(BaseCommand):
    help = (
        "The month-end work on costs for a month (YYYY-MM): accrue each site's power and "
        "hosting not yet invoiced, depreciate every asset in service through the month's "
        "end and recognise the month's HPC revenue. Running it again posts nothing twice."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("month", help="YYYY-MM")
        parser.add_argument(
            "--no-accruals", action="store_true", help="Depreciate only: accrue nothing."
        )

    def handle(self, *args, month, no_accruals, **options):  # type: ignore[no-untyped-def]
        try:
            first = date.fromisoformat(f"{month}-01")
        except ValueError as exc:
            raise CommandError(f"{month!r} is not a month written YYYY-MM") from exc
        try:
            done = costs_month_end(month=first, accruals=not no_accruals)
        except LedgerError as exc:
            raise CommandError(exc.message) from exc
        accrued, depreciated, revenue = done.accruals, done.depreciation, done.hpc_revenue
        self.stdout.write(
            f"{month}: {len(accrued)} accrual(s), {len(depreciated)} depreciation entr"
            f"{'y' if len(depreciated) == 1 else 'ies'}, {len(revenue)} HPC revenue entr"
            f"{'y' if len(revenue) == 1 else 'ies'}"
        )
