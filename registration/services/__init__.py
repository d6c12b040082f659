"""Registration's public write API: the shared registry of people and their life events.

- constituents: register once, correct, end an agency's registration;
- life_events: a life event told once and fanned out to every registered agency;
- access_log: every read of a person's record by an agency;
- subject_access: the operator's export of everything held on a person (GDPR art. 15);
- retention: erasing what no registration justifies any longer (the nightly job).
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
from registration.services.life_events import RecordedLifeEvent, record_life_event
from registration.services.retention import RetentionOutcome, apply_retention
from registration.services.subject_access import SubjectAccessExport, export_subject_access

__all__ = [
    "CORRECTABLE_FIELDS",
    "FieldNotAuthorised",
    "FieldOwnedElsewhere",
    "RecordedLifeEvent",
    "Registered",
    "RetentionOutcome",
    "SubjectAccessExport",
    "apply_retention",
    "correct_constituent",
    "end_registration",
    "export_subject_access",
    "record_life_event",
    "record_reads",
    "register_constituent",
]
