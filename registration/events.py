"""Event types the registry publishes (to every agency registered with the person)."""

from hub.events.catalogue import register_event_type

CONSTITUENT_REGISTERED = register_event_type(
    "constituent.registered",
    "Your agency registered a constituent (new or already known)",
    read_scope="registration:read",
)
CONSTITUENT_UPDATED = register_event_type(
    "constituent.updated",
    "A constituent you are registered with was corrected",
    read_scope="registration:read",
)
CONSTITUENT_LIFE_EVENT = register_event_type(
    "constituent.life_event",
    "A life event (death, address change, name change, business ceased) was recorded for a "
    "constituent you are registered with, whoever reported it",
    read_scope="registration:read",
)
CONSTITUENT_DECEASED = register_event_type(
    "constituent.deceased",
    "A person you are registered with has died",
    read_scope="registration:read",
)
CONSTITUENT_CEASED = register_event_type(
    "constituent.ceased",
    "An organisation you are registered with has ceased trading",
    read_scope="registration:read",
)
