"""Reads of the notifications app."""

from __future__ import annotations

from django.db.models import QuerySet

from notifications.models import Notice, NotificationSettings
from tenants.models import Tenant


def notification_settings(tenant: Tenant) -> NotificationSettings:
    """The agency's settings; an agency that never saved any gets the defaults."""
    found = NotificationSettings.objects.filter(tenant=tenant).first()
    return found if found is not None else NotificationSettings(tenant=tenant)


def notices_about(tenant: Tenant, subject_id: str) -> QuerySet[Notice]:
    return Notice.objects.filter(tenant=tenant, subject_id=subject_id).order_by("created_at")
