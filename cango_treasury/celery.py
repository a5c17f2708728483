import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cango_treasury.settings")

app = Celery("cango_treasury")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
