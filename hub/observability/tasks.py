"""Celery hooks: each task's duration and outcome, and the request id it works for.

A task queued while a request id is bound (an API call's commit hook, a task queuing
the next) carries it in a message header; the worker binds it for the task's run, so
the worker's log lines and the tasks it queues carry it on.
"""

from __future__ import annotations

import logging
import time

from celery.signals import before_task_publish, setup_logging, task_postrun, task_prerun

from hub.observability import request_id

HEADER = "hub_request_id"
_running: dict[str, tuple[float, object]] = {}
_OUTCOMES = {"SUCCESS": "succeeded", "FAILURE": "failed", "RETRY": "retried"}


@setup_logging.connect
def use_the_hubs_logging(**kwargs) -> None:
    """The worker and beat log as the web server does (settings.LOGGING: JSON, redacted)
    instead of Celery replacing the root handler with its own plain-text one."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@before_task_publish.connect
def carry_request_id(headers=None, **kwargs) -> None:
    current = request_id.current()
    if current and headers is not None:
        headers.setdefault(HEADER, current)


@task_prerun.connect
def task_started(task_id=None, task=None, **kwargs) -> None:
    if task is None or task_id is None:
        return
    token = None
    if not getattr(task.request, "is_eager", False):
        carried = task.request.get(HEADER)
        if request_id.is_acceptable(carried):
            token = request_id.bind(carried)
    _running[task_id] = (time.monotonic(), token)


@task_postrun.connect
def task_finished(task_id=None, task=None, state=None, **kwargs) -> None:
    started, token = _running.pop(task_id, (None, None))
    if task is not None and started is not None:
        from hub.observability import metrics

        name = task.name or "unknown"
        metrics.celery_task_duration.labels(name).observe(time.monotonic() - started)
        metrics.celery_tasks.labels(name, _OUTCOMES.get(state, str(state).lower())).inc()
    if token is not None:
        try:
            request_id.unbind(token)
        except ValueError:  # bound in another context (a thread the pool switched)
            logging.getLogger(__name__).debug("request id of task %s left bound", task_id)
