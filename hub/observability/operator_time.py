"""The admin shows times in the operator's time zone (HUB_OPERATOR_TIME_ZONE, by default
Europe/Amsterdam); everything stored and every API answer stays in UTC."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.utils import timezone


class OperatorTimeZoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.zone = zoneinfo.ZoneInfo(settings.HUB_OPERATOR_TIME_ZONE)

    def __call__(self, request):
        if not request.path.startswith("/admin/"):
            return self.get_response(request)
        timezone.activate(self.zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
