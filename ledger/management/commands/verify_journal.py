import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ledger.sealing import JournalBreak
from ledger.selectors import journal_verify

RECORDED_HEAD = re.compile(r"([0-9]+):([0-9a-fA-F]{64})")


class Command(BaseCommand):
    help = (
        "Hash every sealed entry again and follow the journal's hash chain, and the chains "
        "sealed with it (the subledgers: lots, lot movements, disposals, loan events); exits "
        "non-zero at the first break."
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
        report = journal_verify(recorded_head=recorded, chains=True)
        lines = _report("Journal", report, report.journal_break)
        for chain in report.chains:
            lines += _report(chain.chain.capitalize(), chain, chain.first_break)
        self.stdout.write("\n".join(lines))
        found = report.first_break
        if found is not None:
            record = "" if found.record is None else f" ({found.record} {found.record_id})"
            raise CommandError(
                f"the {found.chain} chain breaks at sequence {found.sequence}{record}: "
                f"{found.reason}"
            )


def _report(title: str, report: Any, found: JournalBreak | None) -> list[str]:
    through = "nothing yet" if report.sealed_through is None else f"#{report.sealed_through}"
    lines = [
        f"{title} chain: {'OK' if found is None else 'BROKEN'}",
        f"  entries checked:  {report.entries_checked}",
        f"  sealed through:   {through}",
        f"  head hash:        {report.head_hash}",
        f"  unsealed entries: {report.unsealed_entries}",
    ]
    if found is not None:
        lines.append(f"  first break:      sequence {found.sequence}, entry {found.entry_id}")
        if found.record is not None:
            lines.append(f"  row:              {found.record} {found.record_id}")
        lines += [
            f"  reason:           {found.reason}",
            f"  detail:           {found.detail}",
        ]
    return lines
