"""API-key authentication: the only place a request's tenant comes from."""

from dataclasses import dataclass

from rest_framework import authentication, exceptions

from tenants import scope
from tenants.models import ApiKey, Tenant
from tenants.services import find_api_key, touch_api_key


@dataclass(frozen=True)
class AgencyPrincipal:
    """``request.user`` for API calls: the agency acting through one of its keys."""

    tenant: Tenant
    api_key: ApiKey
    is_authenticated: bool = True
    is_staff: bool = False
    is_superuser: bool = False

    def __str__(self) -> str:
        return f"{self.tenant.slug}:{self.api_key.prefix}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if len(parts) != 2 or parts[0].lower() != self.keyword.lower():
            raise exceptions.AuthenticationFailed(
                "Use 'Authorization: Bearer <api key>'", code="malformed_authorization"
            )
        api_key = find_api_key(parts[1])
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid API key", code="invalid_api_key")
        if not api_key.is_usable():
            raise exceptions.AuthenticationFailed(
                "This API key has been revoked or has expired", code="api_key_revoked"
            )
        touch_api_key(api_key)
        # TenantScopeMiddleware undoes this when the request ends.
        scope.activate(api_key.tenant)
        return AgencyPrincipal(tenant=api_key.tenant, api_key=api_key), api_key

    def authenticate_header(self, request):
        return self.keyword
