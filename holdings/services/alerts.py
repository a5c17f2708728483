"""Alerts for the finance approvers: logged, and mailed once the transaction that raised
them commits (Django's mail settings; EMAIL_URL)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction

from ledger.roles import FINANCE_APPROVER


def approver_emails() -> list[str]:
    return list(
        get_user_model()
        .objects.filter(groups__name=FINANCE_APPROVER, is_active=True)
        .exclude(email="")
        .order_by("email")
        .values_list("email", flat=True)
    )


def alert_approvers(
    *, subject: str, message: str, logger: logging.Logger, level: int = logging.WARNING
) -> None:
    """Log the alert now; mail it to every active finance approver with an address when the
    current transaction commits (at once outside one), so a rolled-back event mails nothing."""
    logger.log(level, message)
    recipients = approver_emails()
    if recipients:
        transaction.on_commit(
            lambda: send_mail(
                subject, message, settings.DEFAULT_FROM_EMAIL, recipients, fail_silently=True
            )
        )
