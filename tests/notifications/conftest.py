"""Fixtures for notices: an agency with collections and a card service, citizens with
email addresses, and the agency's notice settings."""

from __future__ import annotations

import pytest

from notifications.models import NotificationSettings
from registration.models import Constituent
from tenants.scope import tenant_scope
from tests.collection.conftest import Collections


@pytest.fixture
def collections(tenant):
    return Collections(tenant)


def notice_settings(tenant, **values) -> NotificationSettings:
    # The agency's default language lives on the agency: pages and notices share it.
    if "default_language" in values:
        tenant.default_language = values.pop("default_language")
        tenant.save(update_fields=["default_language"])
    with tenant_scope(tenant):
        settings, _ = NotificationSettings.objects.get_or_create(tenant=tenant)
        for field, value in values.items():
            setattr(settings, field, value)
        settings.save()
    return settings


def give_email(constituent, address: str) -> None:
    Constituent.objects.filter(pk=constituent.pk).update(email=address)
    constituent.email = address
