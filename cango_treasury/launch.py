"""`make run`: set everything up, then run the web server, a Celery worker and Celery beat.

It runs in development mode (CANGO_DEVELOPMENT=true unless set otherwise): without
DATABASE_URL, this process holds the embedded PostgreSQL for as long as the three children
run; Ctrl-C stops them all, then the database. The migrations run as the tables' owner; the
demonstration data (with its logins), the web server, the worker and beat as the
application's role, which owns nothing. It is for trying the product: production runs its
processes itself (README: Run it in production).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cango_treasury.settings")
    os.environ.setdefault("CANGO_DEVELOPMENT", "true")  # inherited by the three children
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)  # as the owner, then no more
    call_command("load_chart")
    # The demonstration logins come with the demonstration data, never without it.
    demo = os.environ.get("LOAD_DEMO_DATA", "true").lower() not in {"0", "false", "no"}
    if demo:
        call_command("demo_users")
        call_command("load_demo")

    host = os.environ.get("RUN_HOST", "127.0.0.1")
    port = os.environ.get("RUN_PORT", "8000")
    bin_dir = Path(sys.executable).parent
    children = {
        "web": [
            str(bin_dir / "gunicorn"),
            "cango_treasury.wsgi",
            "--bind",
            f"{host}:{port}",
            "--workers",
            os.environ.get("WEB_WORKERS", "2"),
            "--access-logfile",
            "-",
        ],
        "worker": [
            str(bin_dir / "celery"),
            "-A",
            "cango_treasury",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            os.environ.get("CELERY_CONCURRENCY", "2"),
        ],
        "beat": [str(bin_dir / "celery"), "-A", "cango_treasury", "beat", "--loglevel", "INFO"],
    }
    processes = {
        name: subprocess.Popen(command, cwd=BASE_DIR, start_new_session=True)
        for name, command in children.items()
    }
    base = f"http://{host}:{port}"
    login = (
        f"  Log in:   admin / {os.environ.get('DEMO_PASSWORD', 'treasury-demo')} "
        f"(also finance.staff, finance.approver, auditor)\n"
        if demo
        else "  Log in:   create a login first: .venv/bin/python manage.py createsuperuser\n"
    )
    print(
        f"\ncango-treasury is running.\n"
        f"  Admin:    {base}/admin/\n"
        f"  API:      {base}/api/v1/   (docs: {base}/api/v1/docs/)\n"
        f"{login}"
        f"  Token:    CANGO_DEVELOPMENT=true .venv/bin/python manage.py api_token USER\n"
        f"Press Ctrl-C to stop.\n",
        flush=True,
    )

    stopping = False

    def stop(*_args: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for name, process in processes.items():
            if process.poll() is not None:
                print(f"{name} exited with status {process.returncode}; stopping.", flush=True)
                exit_code = process.returncode or 1
                stopping = True
        time.sleep(0.5)
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    for process in processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            # Still finishing a task (the worker waits for it): a cold shutdown ends it now,
            # through its exit handlers, the last of which stops the embedded database; a
            # process killed outright would leave the database running.
            process.send_signal(signal.SIGQUIT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
