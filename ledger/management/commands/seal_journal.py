from django.core.management.base import BaseCommand, CommandError

from ledger.errors import LedgerError
from ledger.sealing import DEFAULT_WAIT_SECONDS
from ledger.services import journal_seal


class Command(BaseCommand):
    help = (
        "Seal every posted entry not sealed yet into the journal's hash chain, then the chains "
        "sealed with it (the subledgers), as the five-minute job does."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--limit", type=int, help="Seal at most this many entries.")
        parser.add_argument(
            "--wait",
            type=float,
            default=DEFAULT_WAIT_SECONDS,
            metavar="SECONDS",
            help="How long to wait for postings in flight (default %(default)s).",
        )

    def handle(self, *args, limit: int | None, wait: float, **options):  # type: ignore[no-untyped-def]
        try:
            result = journal_seal(limit=limit, wait=wait, chains=True)
        except LedgerError as exc:
            raise CommandError(exc.message) from exc
        through = "nothing" if result.sealed_through is None else f"#{result.sealed_through}"
        if result.deferred:
            raise CommandError(
                f"nothing sealed: postings still in flight after {wait:g} s; the journal is "
                f"sealed through {through}. Run it again."
            )
        if result.sealed:
            self.stdout.write(
                f"Sealed {result.sealed} entries (sequences {result.first_sequence} to "
                f"{result.last_sequence})."
            )
        else:
            self.stdout.write("Nothing to seal.")
        self.stdout.write(f"Sealed through {through}, head hash {result.head_hash}")
        for chain in result.chains:
            chain_through = (
                "nothing" if chain.sealed_through is None else f"#{chain.sealed_through}"
            )
            self.stdout.write(
                f"{chain.chain}: sealed {chain.sealed} entries, through {chain_through}, head "
                f"hash {chain.head_hash}"
            )
