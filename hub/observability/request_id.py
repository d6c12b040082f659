"""One id per request, followed through web, worker and webhook.

The id comes from the caller's ``X-Request-Id`` when it is safe to log and echo (at
most 128 characters of letters, digits and ``-_.:@``), otherwise the hub makes one.
It lives in a context variable, so it follows the request's thread or the Celery task
that set it and never leaks into another. Every response carries it back; the outbox
stores it on each event the request publishes (hub/events/outbox.py); Celery tasks
queued while it is set carry it in a message header (hub/observability/tasks.py);
and a webhook delivery sends the event's id as ``X-Request-Id``.
"""

from __future__ import annotations

import contextvars
import re
import uuid
from contextlib import contextmanager

HEADER = "X-Request-Id"
META_KEY = "HTTP_X_REQUEST_ID"
MAX_LENGTH = 128
SAFE = re.compile(rf"[A-Za-z0-9][A-Za-z0-9\-_.:@]{{0,{MAX_LENGTH - 1}}}")

_current: contextvars.ContextVar[str] = contextvars.ContextVar("hub_request_id", default="")


def is_acceptable(value: str | None) -> bool:
    return bool(value) and SAFE.fullmatch(value) is not None


def new() -> str:
    return f"req_{uuid.uuid4().hex}"


def current() -> str:
    """The id of the request or task running now; "" outside one."""
    return _current.get()


def bind(value: str) -> contextvars.Token:
    return _current.set(value)


def unbind(token: contextvars.Token) -> None:
    _current.reset(token)


@contextmanager
def bound(value: str):
    token = bind(value)
    try:
        yield value
    finally:
        unbind(token)


class RequestIdMiddleware:
    """First in the chain, so that every answer carries the id, a 413 or a 404 too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        offered = request.META.get(META_KEY)
        request_id = offered if is_acceptable(offered) else new()
        request.request_id = request_id
        with bound(request_id):
            response = self.get_response(request)
        response[HEADER] = request_id
        return response
