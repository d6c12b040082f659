"""Collection providers: how a run hands its collections to the outside world.

``bank_file`` makes a pain.008 file per run (the run stores it) for the agency to send
to its bank; ``stripe`` confirms an off-session PaymentIntent per collection on the
agency's own Stripe account. Plugins translate; they write none of the hub's rows.
"""

# Importing the implementations registers them.
from collection.providers import bank_file, stripe  # noqa: F401
from collection.providers.base import (
    CollectionProviderPlugin,
    ProviderUnavailable,
    RunFile,
    SubmissionDeclined,
)
from collection.providers.registry import get_collector, registry

__all__ = [
    "CollectionProviderPlugin",
    "ProviderUnavailable",
    "RunFile",
    "SubmissionDeclined",
    "get_collector",
    "registry",
]
