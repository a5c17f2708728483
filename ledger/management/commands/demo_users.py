import os

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from ledger import roles

# The demonstration logins' password unless DEMO_PASSWORD says otherwise: published in the
# README, so `manage.py check --deploy` fails while any of them still has it.
KNOWN_PASSWORD = "treasury-demo"

DEMO_USERS = [
    ("admin", None, True),
    ("finance.staff", roles.FINANCE_STAFF, False),
    ("finance.approver", roles.FINANCE_APPROVER, False),
    ("auditor", roles.AUDITOR, False),
]


class Command(BaseCommand):
    help = (
        "Create the demonstration logins (password from DEMO_PASSWORD) if they do not exist. "
        "For the demonstration data only (`make run`), never in production."
    )

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        password = os.environ.get("DEMO_PASSWORD", KNOWN_PASSWORD)
        users = get_user_model().objects
        for username, role, superuser in DEMO_USERS:
            if users.filter(username=username).exists():
                continue
            user = users.create_user(
                username=username,
                email=f"{username}@example.com",
                password=password,
                is_staff=True,
                is_superuser=superuser,
            )
            if role:
                user.groups.add(Group.objects.get(name=role))
            self.stdout.write(f"created login {username}")
