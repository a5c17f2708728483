from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from holdings.importers.prices import parse_prices
from holdings.importers.records import ImportFileError
from holdings.services import prices
from ledger.errors import LedgerError


class Command(BaseCommand):
    help = "Import prices from a CSV file (timestamp,base,quote,price,source), all or nothing."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("file", metavar="FILE.csv")
        parser.add_argument(
            "--skip-identical",
            action="store_true",
            help="Skip prices already recorded with the same value (a file that overlaps); "
            "one recorded with another value still refuses the file.",
        )

    def handle(self, *args, file: str, skip_identical: bool, **options):  # type: ignore[no-untyped-def]
        path = Path(file)
        try:
            quotes = parse_prices(path.read_bytes(), file_name=path.name)
            created, skipped = prices.prices_import(
                quotes=quotes, file_name=path.name, skip_identical=skip_identical
            )
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        except LedgerError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"{created} price(s) imported, {skipped} already there, from {path}")
