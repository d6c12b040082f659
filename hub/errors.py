"""Domain errors: what a service raises when it refuses a request.

Plain Python, so services, tasks, the admin and commands can raise and catch them
without knowing about HTTP. Only the API layer turns one into a response
(``hub.api.errors.exception_handler`` maps each ``kind`` to a status and renders the
one error shape); the admin shows ``message``; a task records ``code``.
"""

from __future__ import annotations


class HubError(Exception):
    """A refusal an integrator, an operator or a caseworker can act on."""

    # Which family of refusal this is; the API maps it to an HTTP status.
    kind = "invalid_request"
    default_code = "invalid_request"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.field = field


class InvalidRequest(HubError):
    """The request itself is wrong (a bad value, a missing field): 400."""


class Forbidden(HubError):
    """The caller may not do this to this object: 403."""

    kind = "permission_error"
    default_code = "permission_denied"


class Conflict(HubError):
    """The object's current state does not allow it (already cancelled, in use): 409."""

    kind = "conflict"
    default_code = "conflict"


class RuleViolation(HubError):
    """Well-formed, but the business rules forbid it: 422."""

    kind = "rule_violation"
    default_code = "rule_violation"


class ProviderUnavailable(HubError):
    """A provider refused or did not answer: nothing was changed, retry later (502)."""

    kind = "provider_unavailable"
    default_code = "provider_unavailable"
