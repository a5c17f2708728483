import re

from django.core.management.base import BaseCommand, CommandError

from ledger.selectors import journal_verify

RECORDED_HEAD = re.compile(r"([0-9]+):([0-9a-fA-F]{64})")


class Command(BaseCommand):
    help = (
        "Hash every sealed entry again and follow the journal's hash chain; exits non-zero "
        "at the first break."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument(
            "--expect",
            metavar="SEQUENCE:HASH",
            help="A seal's hash recorded earlier (the head of a past report): the chain must "
            "still reach it.",
        )

    def handle(self, *args, expect: str | None, **options):  # type: ignore[no-untyped-def]
        recorded = None
        if expect is not None:
            match = RECORDED_HEAD.fullmatch(expect)
            if match is None:
                raise CommandError("--expect must be SEQUENCE:HASH (a 64-digit hex hash)")
            recorded = (int(match[1]), match[2].lower())
        report = journal_verify(recorded_head=recorded)
        found = report.first_break
        through = "nothing yet" if report.sealed_through is None else f"#{report.sealed_through}"
        lines = [
            f"Journal chain: {'OK' if found is None else 'BROKEN'}",
            f"  entries checked:  {report.entries_checked}",
            f"  sealed through:   {through}",
            f"  head hash:        {report.head_hash}",
            f"  unsealed entries: {report.unsealed_entries}",
        ]
        if found is not None:
            lines += [
                f"  first break:      sequence {found.sequence}, entry {found.entry_id}",
                f"  reason:           {found.reason}",
                f"  detail:           {found.detail}",
            ]
        self.stdout.write("\n".join(lines))
        if found is not None:
            raise CommandError(
                f"the journal chain breaks at sequence {found.sequence}: {found.reason}"
            )
