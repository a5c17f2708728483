from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from holdings.services.setup_file import setup_file_load
from ledger.errors import LedgerError


class Command(BaseCommand):
    help = (
        "Set up sites, pools, wallets (with addresses) and pool accounts from one YAML or CSV "
        "file, all or nothing; --dry-run checks everything and reports without writing."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("file", metavar="FILE.yaml|FILE.csv")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check and report; write nothing."
        )

    def handle(self, *args, file: str, dry_run: bool, **options):  # type: ignore[no-untyped-def]
        path = Path(file)
        try:
            report = setup_file_load(name=path.name, content=path.read_bytes(), dry_run=dry_run)
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
        except LedgerError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(report.summary())
        for kind, codes in report.created.items():
            if codes:
                self.stdout.write(f"  {kind.replace('_', ' ')}: {', '.join(codes)}")
