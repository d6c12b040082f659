"""What every collection provider implements."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class RunFile:
    """The file a provider makes of a finished run, for the run to store (a pain.008)."""

    content: bytes
    message_id: str


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

    def run_file(self, *, run: CollectionRun, settings: CollectionSettings) -> RunFile | None:
        """Called once, when every chunk of the run is done: the file to hand to the
        bank, if this provider works with files (the run stores it; a plugin only
        translates and writes none of the hub's rows)."""
        return None
