"""Errors payments raise towards the API (the one error shape; see hub.api.errors)."""

from rest_framework import status

from hub.api.errors import HubError


class ProviderUnavailable(HubError):
    """The provider refused or did not answer: nothing was changed, retry later (502)."""

    status_code = status.HTTP_502_BAD_GATEWAY
    default_code = "provider_unavailable"
