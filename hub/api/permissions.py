"""Which keys may call which endpoints: an active agency and the right scope.

Every view behind ``HasApiKeyScope`` declares ``read_scope`` and ``write_scope``
(``hub.checks`` refuses to start without them). A scope, or:

- ``ANY_AGENCY_KEY``: every key of the agency may (the agency's own services list);
  a view that says so filters what it shows itself, as ``/api/v1/events`` does;
- ``None`` for ``write_scope`` only: the view has no writes.

A view that forgot to declare is refused to every key at run time too (fail closed).
"""

from rest_framework import exceptions, permissions

from hub.api.auth import AgencyPrincipal


class _Undeclared:
    def __repr__(self) -> str:
        return "UNDECLARED"


UNDECLARED = _Undeclared()
ANY_AGENCY_KEY = "any-agency-key"


def implied_scopes(scope: str) -> set[str]:
    """The scopes that grant ``scope``: itself, and for ``x:read`` the ``x:write``
    of the same area (who may change something may read it)."""
    granting = {scope}
    if scope.endswith(":read"):
        granting.add(scope.removesuffix(":read") + ":write")
    return granting


def key_grants(api_key, scope: str) -> bool:
    if scope == ANY_AGENCY_KEY:
        return True
    return any(api_key.has_scope(s) for s in implied_scopes(scope))


class TenantSuspended(exceptions.PermissionDenied):
    default_detail = "This agency is suspended; contact the hub operators"
    default_code = "tenant_suspended"


def needed_scopes(view, method: str) -> list[str] | None:
    """The scopes of which a key needs one for ``method`` on ``view`` ([] = none);
    None when the view did not declare (refused)."""
    read_scope = getattr(view, "read_scope", UNDECLARED)
    write_scope = getattr(view, "write_scope", UNDECLARED)
    if method in permissions.SAFE_METHODS:
        if read_scope is UNDECLARED or read_scope is None:
            return None
        if read_scope == ANY_AGENCY_KEY:
            return []
        granting = implied_scopes(read_scope)
        if write_scope not in (None, UNDECLARED, ANY_AGENCY_KEY):
            granting.add(write_scope)  # a write scope implies the read
        return sorted(granting, key=lambda s: (s != read_scope, s))
    if write_scope is UNDECLARED:
        return None
    if write_scope is None:
        # No writes here: a write method the view does not route answers 405.
        return [] if not hasattr(view, method.lower()) else None
    if write_scope == ANY_AGENCY_KEY:
        return []
    # A POST that only reads (a look-up with the identifier in the body) names a read
    # scope, which its write scope grants as well.
    return sorted(implied_scopes(write_scope), key=lambda s: (s != write_scope, s))


class HasApiKeyScope(permissions.BasePermission):
    message = "This API key lacks the scope this endpoint needs"
    code = "insufficient_scope"

    def has_permission(self, request, view) -> bool:
        principal = request.user
        if not isinstance(principal, AgencyPrincipal):
            raise exceptions.NotAuthenticated("Provide an API key", code="missing_api_key")
        if not principal.tenant.is_active:
            raise TenantSuspended()
        needed = needed_scopes(view, request.method)
        if needed is None:
            self.message = "This endpoint declares no scope, so no key may call it"
            return False
        if needed and not any(principal.api_key.has_scope(s) for s in needed):
            self.message = f"This API key needs the scope '{needed[0]}'"
            return False
        return True
