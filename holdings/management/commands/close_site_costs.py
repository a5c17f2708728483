from datetime import date

from django.core.management.base import BaseCommand, CommandError

from holdings.selectors.fixed_assets import month_end
from holdings.services import costs, fixed_assets, hpc
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
            accrued = [] if no_accruals else costs.site_costs_accrue(month=first)
            depreciated = fixed_assets.depreciation_run(through=month_end(first))
            revenue = hpc.hpc_revenue_recognize(month=first)
        except LedgerError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"{month}: {len(accrued)} accrual(s), {len(depreciated)} depreciation entr"
            f"{'y' if len(depreciated) == 1 else 'ies'}, {len(revenue)} HPC revenue entr"
            f"{'y' if len(revenue) == 1 else 'ies'}"
        )
