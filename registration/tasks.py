"""Celery tasks of the registry: thin, idempotent wrappers over services."""

from celery import shared_task

from registration.services import retention


@shared_task(name="registration.apply_retention")
def apply_retention() -> dict:
    """Beat, nightly: erase what no registration justifies any longer (safe to rerun)."""
    outcome = retention.apply_retention()
    return {
        "registrations_erased": outcome.registrations_erased,
        "constituents_deleted": outcome.constituents_deleted,
        "constituents_anonymised": outcome.constituents_anonymised,
    }
