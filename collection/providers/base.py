"""What every collection provider implements."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collection.models import CollectionAttempt, CollectionRun, CollectionSettings
    from tenants.models import Tenant


class SubmissionDeclined(Exception):
    """The provider refused this collection for good (an invalid mandate, say)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class ProviderUnavailable(Exception):
    """The provider could not be asked now (network, rate limit, credentials): try later."""


class CollectionProviderPlugin:
    identifier: str = ""
    # True: ``submit`` talks to the outside world, so the run calls it only after the
    # attempt is committed, and again (with the same idempotency key) after a crash.
    external: bool = False

    def readiness_problems(self, *, tenant: Tenant, settings: CollectionSettings) -> list[str]:
        """Why a run cannot start for this agency (empty: it can)."""
        return []

    def submit(self, *, attempt: CollectionAttempt) -> str:
        """Hand one collection over; return the provider's reference for it."""
        raise NotImplementedError

    def finish_run(self, *, run: CollectionRun, settings: CollectionSettings) -> None:
        """Called once, when every chunk of the run is done."""
