"""Event types the registry publishes (to every agency registered with the person).

Each agency's copy carries only the fields of the person it is authorised to see (its
field authorisation, registration.models.FieldAccess): a correction's ``changes`` and a
life event's ``details`` lose the others before the event is written.
"""

from collections.abc import Sequence

from hub.events.catalogue import EVENT_TYPES, register_event_type
from registration import selectors
from registration.rules.life_events import KINDS

# The parts of a registry payload that hold fields of the person, by field name.
PERSONAL_PARTS = ("changes", "details")


def authorised_payloads(tenants: Sequence, payloads: Sequence[dict]) -> list[dict]:
    fields = selectors.visible_fields_of({tenant.pk for tenant in tenants})
    shaped = []
    for tenant, payload in zip(tenants, payloads, strict=True):
        copy = dict(payload)
        for part in PERSONAL_PARTS:
            if isinstance(copy.get(part), dict):
                copy[part] = selectors.without_unauthorised_fields(copy[part], fields[tenant.pk])
        shaped.append(copy)
    return shaped


CONSTITUENT_REGISTERED = register_event_type(
    "constituent.registered",
    "Your agency registered a constituent (new or already known)",
    read_scope="registration:read",
    payload_for=authorised_payloads,
)
CONSTITUENT_UPDATED = register_event_type(
    "constituent.updated",
    "A constituent you are registered with was corrected",
    read_scope="registration:read",
    payload_for=authorised_payloads,
)
CONSTITUENT_LIFE_EVENT = register_event_type(
    "constituent.life_event",
    "A life event (death, birth, marriage, civil partnership, divorce, job loss, move, "
    "name change, business started or closed) was recorded for a constituent you are "
    "registered with, whoever reported it; answer it with POST "
    "/api/v1/life-events/{id}/responses",
    read_scope="registration:read",
    payload_for=authorised_payloads,
)
CONSTITUENT_DECEASED = register_event_type(
    "constituent.deceased",
    "A person you are registered with has died",
    read_scope="registration:read",
    payload_for=authorised_payloads,
)
CONSTITUENT_CEASED = register_event_type(
    "constituent.ceased",
    "An organisation you are registered with has ceased trading",
    read_scope="registration:read",
    payload_for=authorised_payloads,
)
CONSTITUENT_BORN = register_event_type(
    "constituent.born",
    "The birth of a person you are registered with was recorded",
    read_scope="registration:read",
)
CONSTITUENT_PARTNERSHIP_FORMED = register_event_type(
    "constituent.partnership_formed",
    "A person you are registered with married or entered a civil partnership",
    read_scope="registration:read",
)
CONSTITUENT_PARTNERSHIP_ENDED = register_event_type(
    "constituent.partnership_ended",
    "A marriage or civil partnership of a person you are registered with ended",
    read_scope="registration:read",
)
CONSTITUENT_EMPLOYMENT_ENDED = register_event_type(
    "constituent.employment_ended",
    "A person you are registered with lost their job",
    read_scope="registration:read",
)
CONSTITUENT_BUSINESS_STARTED = register_event_type(
    "constituent.business_started",
    "An organisation you are registered with started trading",
    read_scope="registration:read",
)
CONSTITUENT_SERVICE_OFFERED = register_event_type(
    "constituent.service_offered",
    "One of your proactive services was offered to someone at a life event; you are not "
    "registered with them, so only the offer, the service and the kind of event are told",
    read_scope="registration:read",
)
LIFE_EVENT_RESPONSE_RECORDED = register_event_type(
    "life_event.response_recorded",
    "An answer to a life event was recorded: your own (or the hub's on your behalf), or "
    "one to a report your agency took from a notifier",
    read_scope="registration:read",
)
LIFE_EVENT_OVERDUE = register_event_type(
    "life_event.overdue",
    "Reminder: your agency was told of a life event and has not answered within its service level",
    read_scope="registration:read",
)

# Every follow-up a life-event kind declares is a published type: a typo in the rules
# table fails at start-up, not silently at the first such event.
_undeclared = {k.follow_up_event for k in KINDS.values() if k.follow_up_event} - set(EVENT_TYPES)
if _undeclared:
    raise RuntimeError(f"life-event follow-ups without an event type: {sorted(_undeclared)}")
