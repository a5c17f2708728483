import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ledger.errors import LedgerError
from ledger.services import chart_load

DEFAULT_CHART = Path(__file__).resolve().parents[3] / "fixtures" / "chart_of_accounts.csv"


class Command(BaseCommand):
    help = (
        "Create the accounts of a chart "
        "(CSV: code,name,type,commodity,parent,must_not_go_negative)."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("path", nargs="?", default=str(DEFAULT_CHART))

    def handle(self, *args, path: str, **options):  # type: ignore[no-untyped-def]
        try:
            with open(path, newline="", encoding="utf-8-sig") as handle:
                created = chart_load(rows=list(csv.DictReader(handle)), source=path)
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise CommandError(f"{path}: not UTF-8 text") from exc
        except csv.Error as exc:
            raise CommandError(f"{path}: not readable CSV: {exc}") from exc
        except LedgerError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"{len(created)} account(s) created from {path}")
