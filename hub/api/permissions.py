"""Which keys may call which endpoints: an active agency and the right scope."""

from rest_framework import exceptions, permissions

from hub.api.auth import AgencyPrincipal


class TenantSuspended(exceptions.PermissionDenied):
    default_detail = "This agency is suspended; contact the hub operators"
    default_code = "tenant_suspended"


class HasApiKeyScope(permissions.BasePermission):
    """Views declare ``read_scope`` and ``write_scope``; a write scope implies the read.

    Without a ``read_scope`` any key of the agency may read (its own services, say).
    """

    message = "This API key lacks the scope this endpoint needs"
    code = "insufficient_scope"

    def has_permission(self, request, view) -> bool:
        principal = request.user
        if not isinstance(principal, AgencyPrincipal):
            raise exceptions.NotAuthenticated("Provide an API key", code="missing_api_key")
        if not principal.tenant.is_active:
            raise TenantSuspended()
        read_scope = getattr(view, "read_scope", None)
        write_scope = getattr(view, "write_scope", None)
        if request.method in permissions.SAFE_METHODS:
            needed = [s for s in (read_scope, write_scope) if s] if read_scope else []
        else:
            needed = [write_scope] if write_scope else []
        if needed and not any(principal.api_key.has_scope(s) for s in needed):
            self.message = f"This API key needs the scope '{needed[0]}'"
            return False
        return True
