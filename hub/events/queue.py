"""The Celery tasks the event machinery queues, found by their registered names.

hub/tasks.py wraps hub/events (dispatch, delivery) in tasks, so hub/events must not
import hub/tasks.py back: that would be an import circle. A task is looked up by name,
as its ``shared_task`` proxy does anyway; hub/apps.py imports hub/tasks.py at start-up,
so the names are registered in every process.
"""

from __future__ import annotations

from celery import Task, current_app

DISPATCH_EVENTS = "hub.dispatch_events"
# A batch of deliveries (or, without ids, whatever is due): what dispatch and retries queue.
DELIVER_WEBHOOKS = "hub.deliver_webhooks"
# One delivery: no longer queued, still consumed (messages queued before an upgrade).
DELIVER_WEBHOOK = "hub.deliver_webhook"


def task(name: str) -> Task:
    return current_app.tasks[name]
