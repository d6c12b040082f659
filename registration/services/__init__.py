"""Registration's public write API: the shared registry of people and their life events.

- constituents: register once, correct, end an agency's registration;
- life_events: a life event told once, fanned out to every registered agency, its
  proactive offers recorded;
- life_event_answers: agencies' answers, reminders of late ones, operators' resolution
  of discrepancies, agencies' declarations of proactive services.
"""

from registration.services.constituents import (
    CORRECTABLE_FIELDS,
    FieldOwnedElsewhere,
    Registered,
    correct_constituent,
    end_registration,
    register_constituent,
)
from registration.services.life_event_answers import (
    declare_proactive_service,
    record_life_event_response,
    remind_overdue,
    resolve_discrepancy,
    withdraw_proactive_service,
)
from registration.services.life_events import (
    Notifier,
    RecordedLifeEvent,
    hash_secret,
    record_life_event,
)

__all__ = [
    "CORRECTABLE_FIELDS",
    "FieldOwnedElsewhere",
    "Notifier",
    "RecordedLifeEvent",
    "Registered",
    "correct_constituent",
    "declare_proactive_service",
    "end_registration",
    "hash_secret",
    "record_life_event",
    "record_life_event_response",
    "register_constituent",
    "remind_overdue",
    "resolve_discrepancy",
    "withdraw_proactive_service",
]
