"""Registration's public write API: the shared registry of people and their life events.

- constituents: register once, correct, end an agency's registration;
- access_log: every read of a person's record by an agency;
- subject_access: the operator's export of everything held on a person (GDPR art. 15);
- retention: erasing what no registration justifies any longer (the nightly job);
- life_events: a life event told once, fanned out to every registered agency, its
  proactive offers recorded;
- life_event_answers: agencies' answers, reminders of late ones, operators' resolution
  of discrepancies, agencies' declarations of proactive services.
"""

from registration.services.access_log import record_reads
from registration.services.constituents import (
    CORRECTABLE_FIELDS,
    FieldNotAuthorised,
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
from registration.services.retention import RetentionOutcome, apply_retention
from registration.services.subject_access import SubjectAccessExport, export_subject_access

__all__ = [
    "CORRECTABLE_FIELDS",
    "FieldNotAuthorised",
    "FieldOwnedElsewhere",
    "Notifier",
    "RecordedLifeEvent",
    "Registered",
    "RetentionOutcome",
    "SubjectAccessExport",
    "apply_retention",
    "correct_constituent",
    "declare_proactive_service",
    "end_registration",
    "export_subject_access",
    "hash_secret",
    "record_life_event",
    "record_life_event_response",
    "record_reads",
    "register_constituent",
    "remind_overdue",
    "resolve_discrepancy",
    "withdraw_proactive_service",
]
