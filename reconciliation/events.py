"""Event types reconciliation publishes (agencies receive them as webhooks)."""

from hub.events.catalogue import register_event_type

RECONCILIATION_COMPLETED = register_event_type(
    "reconciliation.completed",
    "A reconciliation run finished: its totals, variance and how many items matched",
    read_scope="reports:read",
)
RECONCILIATION_EXCEPTION = register_event_type(
    "reconciliation.exception",
    "Reconciliation found a new problem for a finance user (a missing, unknown, short or "
    "duplicate receipt, an unknown return, a dispute)",
    read_scope="reports:read",
)
