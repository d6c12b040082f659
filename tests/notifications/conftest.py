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


@pytest.fixture(autouse=True, scope="session")
def _compiled_catalogues():
    """Dutch and Welsh notices need the compiled catalogues (.mo files are built, not
    committed: ``make`` compiles them); compile them when a .po is newer, so these tests
    also run straight after a checkout."""
    import subprocess
    from pathlib import Path

    from django.conf import settings

    locale = Path(settings.BASE_DIR) / "notifications" / "locale"
    stale = [
        po
        for po in locale.glob("*/LC_MESSAGES/django.po")
        if not po.with_suffix(".mo").exists()
        or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime
    ]
    for po in stale:  # msgfmt on these files only (compilemessages walks every tree)
        subprocess.run(
            ["msgfmt", "--check-format", "-o", str(po.with_suffix(".mo")), str(po)], check=True
        )
