from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from holdings.errors import ImportFailed
from holdings.importers.site_costs import INVOICE_HEADER, METER_HEADER
from holdings.management.files import read_file
from holdings.services import costs
from ledger.errors import LedgerError


class Command(BaseCommand):
    help = (
        "Import sites' invoices and post them, each file all or nothing: "
        f"`{INVOICE_HEADER}` (see the README). With --meter-readings, files of meter "
        f"readings `{METER_HEADER}` instead. A file already imported is skipped."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument(
            "--meter-readings", action="store_true", help="The files hold meter readings."
        )
        parser.add_argument("file", nargs="+", type=Path)

    def handle(self, *args, meter_readings, file, **options):  # type: ignore[no-untyped-def]
        run = costs.meter_readings_import if meter_readings else costs.site_costs_import
        for path in file:
            content = read_file(path)
            try:
                record, created = run(content=content, file_name=path.name)
            except ImportFailed as exc:
                raise CommandError(
                    f"{path.name} refused, nothing recorded:\n"
                    + "\n".join(
                        f"  row {e.get('row') or '-'}, field {e.get('field') or '-'}: "
                        f"{e['message']}"
                        for e in exc.errors
                    )
                ) from exc
            except LedgerError as exc:
                raise CommandError(f"{path.name}: {exc.message}") from exc
            if created:
                self.stdout.write(f"{path.name}: {record.rows} row(s) recorded (file {record.pk})")
            else:
                self.stdout.write(f"{path.name}: already imported (file {record.pk})")
