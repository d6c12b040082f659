from rest_framework.throttling import SimpleRateThrottle


class ApiKeyRateThrottle(SimpleRateThrottle):
    """A budget per API key, so one agency's batch job cannot starve the others."""

    scope = "api_key"

    def get_cache_key(self, request, view):
        api_key = getattr(request, "auth", None)
        ident = api_key.pk if api_key is not None else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
