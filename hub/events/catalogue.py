"""Known event types. Apps register theirs at import; endpoints subscribe to them.

Each type names the API key scope that may read it: an event carries the same data as
the object it is about (a person's new address, a debt), so ``/api/v1/events`` shows a
key only the types whose scope it holds, as the object's own endpoints would.


An event is written once per agency it is for, so its payload can be that agency's own:
a type may name a ``payload_for`` that shapes each agency's copy when it is published
(the registry leaves out the fields of a person an agency is not authorised to see).
What an agency was not entitled to is then in neither its webhook nor its
``/api/v1/events``, nor in its rows of the outbox.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tenants.models import Tenant

# (agencies, payloads) -> the payload each agency may be told, in the same order.
PayloadShaper = Callable[[Sequence["Tenant"], Sequence[dict]], list[dict]]

EVENT_TYPES: dict[str, str] = {}
EVENT_READ_SCOPES: dict[str, str] = {}
PAYLOAD_SHAPERS: dict[str, PayloadShaper] = {}


def register_event_type(
    event_type: str,
    description: str,
    *,
    read_scope: str,
    payload_for: PayloadShaper | None = None,
) -> str:
    EVENT_TYPES[event_type] = description
    EVENT_READ_SCOPES[event_type] = read_scope
    if payload_for is not None:
        PAYLOAD_SHAPERS[event_type] = payload_for
    return event_type


def readable_event_types(can_read) -> list[str]:
    """The registered types whose scope ``can_read(scope)`` grants; an unregistered
    type (one an app no longer publishes) is readable by no key."""
    return [event_type for event_type, scope in EVENT_READ_SCOPES.items() if can_read(scope)]


def is_valid_subscription(pattern: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        prefix = pattern[:-1]
        return any(known.startswith(prefix) for known in EVENT_TYPES)
    return pattern in EVENT_TYPES


WEBHOOK_PING = register_event_type(
    "webhook.ping",
    "Sent on request to check that an endpoint receives and verifies webhooks",
    read_scope="webhooks:write",
)
