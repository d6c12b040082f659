"""Known event types. Apps register theirs at import; endpoints subscribe to them."""

from __future__ import annotations

EVENT_TYPES: dict[str, str] = {}


def register_event_type(event_type: str, description: str) -> str:
    EVENT_TYPES[event_type] = description
    return event_type


def is_valid_subscription(pattern: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        prefix = pattern[:-1]
        return any(known.startswith(prefix) for known in EVENT_TYPES)
    return pattern in EVENT_TYPES


WEBHOOK_PING = register_event_type(
    "webhook.ping", "Sent on request to check that an endpoint receives and verifies webhooks"
)
