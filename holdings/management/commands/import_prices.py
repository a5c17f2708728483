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

    def handle(self, *args, file: str, **options):  # type: ignore[no-untyped-def]
        path = Path(file)
        try:
            quotes = parse_prices(path.read_bytes(), file_name=path.name)
            created, skipped = prices.prices_import(quotes=quotes, file_name=path.name)
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        except LedgerError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"{created} price(s) imported, {skipped} already there, from {path}")
