"""Event types the registry publishes (to every agency registered with the person).

Each agency's copy carries only the fields of the person it is authorised to see (its
field authorisation, registration.models.FieldAccess): a correction's ``changes`` and a
life event's ``details`` lose the others before the event is written.
"""

from collections.abc import Sequence

from hub.events.catalogue import register_event_type
from registration import selectors

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
    "A life event (death, address change, name change, business ceased) was recorded for a "
    "constituent you are registered with, whoever reported it",
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
