"""Celery tasks of the registry: thin, idempotent wrappers over its services."""

from celery import shared_task

from registration import services


@shared_task(name="registration.apply_retention")
def apply_retention() -> dict:
    """Beat, nightly: erase what no registration justifies any longer (safe to rerun)."""
    outcome = services.apply_retention()
    return {
        "registrations_erased": outcome.registrations_erased,
        "constituents_deleted": outcome.constituents_deleted,
        "constituents_anonymised": outcome.constituents_anonymised,
    }


@shared_task(name="registration.remind_overdue_life_event_answers")
def remind_overdue_life_event_answers() -> int:
    """Beat, daily: remind each agency past its life-event service level, once."""
    reminded = 0
    while True:  # the service claims up to 1,000 notices per transaction
        batch = services.remind_overdue()
        reminded += batch
        if batch < 1000:
            return reminded
