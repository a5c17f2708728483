"""What waits for a person in the ledger: manual journals and cancellations to decide (an
approver decides those of others, never their own: maker-checker), and a maker's own drafts
and journals rejected lately. Each kind is a filter (`waiting_journals`,
`waiting_cancellations`), shared by the counts and by the admin's lists, so a count and the
list it links to always agree."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet

from ledger.models import Cancellation, CancellationStatus, ManualJournal, ManualJournalStatus
from ledger.roles import APPROVE_ROLES, OPERATE_ROLES, has_any_role

# A rejected journal waits for its maker (to draft a corrected copy) this many days.
REJECTED_DAYS = 30

# What may wait in the list of manual journals: (key, label).
JOURNALS_WAITING = (
    ("approval", "Waiting for my approval"),
    ("drafts", "My drafts"),
    ("rejected", f"Mine rejected in the last {REJECTED_DAYS} days"),
)
CANCELLATIONS_WAITING = (("approval", "Waiting for my approval"),)


def _user_id(user: Any) -> int | None:
    return getattr(user, "pk", None)


def journal_filter(which: str, *, user: Any, today: date) -> Q:
    """The journals of one kind of waiting, for `user` (nothing for a role that does not
    act on them)."""
    me = _user_id(user)
    if which == "approval" and has_any_role(user, APPROVE_ROLES):
        return Q(status=ManualJournalStatus.SUBMITTED) & ~Q(created_by_id=me)
    if which == "drafts" and has_any_role(user, OPERATE_ROLES):
        return Q(status=ManualJournalStatus.DRAFT, created_by_id=me)
    if which == "rejected" and has_any_role(user, OPERATE_ROLES):
        return Q(
            status=ManualJournalStatus.REJECTED,
            created_by_id=me,
            rejected_at__date__gte=today - timedelta(days=REJECTED_DAYS),
        )
    return Q(pk__in=[])


def cancellation_filter(which: str, *, user: Any) -> Q:
    if which == "approval" and has_any_role(user, APPROVE_ROLES):
        return Q(status=CancellationStatus.REQUESTED) & ~Q(requested_by_id=_user_id(user))
    return Q(pk__in=[])


def waiting_journals(
    queryset: QuerySet[ManualJournal], which: str, *, user: Any, today: date
) -> QuerySet[ManualJournal]:
    return queryset.filter(journal_filter(which, user=user, today=today))


def waiting_cancellations(
    queryset: QuerySet[Cancellation], which: str, *, user: Any
) -> QuerySet[Cancellation]:
    return queryset.filter(cancellation_filter(which, user=user))


def waiting_counts(*, user: Any, today: date) -> dict[str, int]:
    """How many journals and cancellations wait for `user`, by kind ("journals_approval",
    "journals_drafts", "journals_rejected", "cancellations_approval"): two statements."""
    counts: dict[str, int] = {}
    journal_kinds = {
        which: journal_filter(which, user=user, today=today) for which, _ in JOURNALS_WAITING
    }
    if has_any_role(user, OPERATE_ROLES):
        counts.update(
            {
                f"journals_{which}": n
                for which, n in ManualJournal.objects.aggregate(
                    **{which: Count("id", filter=q) for which, q in journal_kinds.items()}
                ).items()
            }
        )
    if has_any_role(user, APPROVE_ROLES):
        counts["cancellations_approval"] = Cancellation.objects.filter(
            cancellation_filter("approval", user=user)
        ).count()
    return counts
