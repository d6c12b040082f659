"""The Celery application. Tasks live in each app's tasks.py and are thin wrappers over services."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")

from django.db import close_old_connections

from hub import broker

broker.install()

app = Celery("hub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

from hub.observability import tasks as _observability_hooks  # noqa: E402,F401  (signal hooks)


@task_prerun.connect
@task_postrun.connect
def close_old_database_connections(sender=None, **kwargs) -> None:
    """Around each task, what Django does around each request: drop connections that are
    older than CONN_MAX_AGE, broken, or left in a transaction, and keep the rest.

    With CELERY_DB_REUSE_MAX set, Celery itself no longer closes them after every task.
    Tasks run eagerly (inside a caller's transaction) are left alone, as Celery does."""
    if sender is not None and getattr(sender.request, "is_eager", False):
        return
    close_old_connections()
