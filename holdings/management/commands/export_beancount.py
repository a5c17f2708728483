import re
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from holdings.selectors.exports import ExportError, beancount_export
from ledger.dates import report_date_problem

DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class Command(BaseCommand):
    help = (
        "Write the journal through a date as a beancount file to standard output: accounts, "
        "entries with their lots at cost, prices and a balance assertion per account. "
        "Check it with bean-check."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument(
            "--as-of",
            dest="as_of",
            metavar="YYYY-MM-DD",
            help="UTC date, end of day (today, UTC, by default).",
        )

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        as_of = _as_of(options["as_of"])
        try:
            for piece in beancount_export(as_of=as_of):
                self.stdout.write(piece, ending="")
        except ExportError as exc:
            raise CommandError(exc.message) from exc


def _as_of(text: str | None) -> date:
    if text is None:
        return timezone.now().date()  # aware UTC: this is the UTC date
    if not DATE.fullmatch(text):
        raise CommandError(f"--as-of must be a date written YYYY-MM-DD (UTC), not {text!r}")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--as-of {text} is not a calendar date") from None
    problem = report_date_problem(day)
    if problem is not None:
        raise CommandError(f"--as-of {problem}")
    return day
