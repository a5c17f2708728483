from datetime import date

from django.core.management.base import BaseCommand, CommandError

from holdings.services import fair_value
from ledger.errors import LedgerError


class Command(BaseCommand):
    help = (
        "Remeasure fair-value commodities to fair value at the end of a date "
        "(idempotent per commodity and date; a day whose remeasurement was cancelled on its "
        "date is remeasured again)."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--date", required=True, type=date.fromisoformat, metavar="YYYY-MM-DD")
        parser.add_argument("--commodity", help="one commodity (default: every fair-value one)")

    def handle(self, *args, date, commodity, **options):  # type: ignore[no-untyped-def]
        try:
            if commodity:
                done = [fair_value.remeasure(commodity=commodity, as_of=date)]
            else:
                done = fair_value.remeasure_all(as_of=date)
        except LedgerError as exc:
            raise CommandError(exc.message) from exc
        for r in done:
            again = f" (attempt {r.attempt})" if r.attempt > 1 else ""
            self.stdout.write(
                f"{r.commodity_id} at {r.as_of}{again}: {r.units} units at {r.price.price} "
                f"({r.price.source}); carrying value {r.carrying_value_before} -> fair value "
                f"{r.fair_value}, adjustment {r.adjustment} over {r.lots} lot(s)"
            )
        if not done:
            self.stdout.write("no fair-value commodity holds lots: nothing to remeasure")
