"""Fixtures for reconciliation: real payments made through the payments services, and
statements written or uploaded the way an agency would."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from payments import services as payments
from payments.models import Payment
from payments.services.sandbox_payments import pay_with_test_card
from reconciliation import services
from reconciliation.models import ReconciliationRun
from tenants import services as tenants
from tests.conftest import client_for

FIXTURES = Path(__file__).parent / "fixtures"
SUCCEEDS = "4242424242424242"


@pytest.fixture
def today() -> date:
    return timezone.localdate()


@pytest.fixture
def service(tenant):
    return tenants.create_service(
        tenant=tenant,
        code=f"fees-{os.urandom(2).hex()}",
        name="Fees",
        interaction_kind="regulatory",
    )


def card_payment(tenant, service, amount: int, reference: str = "", currency="EUR") -> Payment:
    """A sandbox card payment the payer completed."""
    payment = payments.create_payment(
        tenant=tenant,
        service=service,
        amount=amount,
        currency=currency,
        description="Parking permit",
        reference=reference or f"REF-{os.urandom(3).hex()}",
    )
    return pay_with_test_card(payment=payment, card_number=SUCCEEDS)


def direct_debit(
    tenant,
    service,
    amount: int,
    end_to_end_id: str | None = None,
    *,
    provider: str = "bank_file",
    metadata: dict | None = None,
    confirm: bool = True,
) -> Payment:
    """A direct debit collected the way the collection app does it: the end-to-end id
    is the provider reference (bank files) and in the metadata."""
    end_to_end_id = end_to_end_id or f"ATT-{os.urandom(6).hex().upper()}"
    payment = payments.create_payment(
        tenant=tenant,
        service=service,
        amount=amount,
        currency="EUR",
        description="Waste levy instalment",
        reference=f"DEBT-{os.urandom(3).hex()}",
        method="direct_debit",
        provider=provider,
        metadata={"end_to_end_id": end_to_end_id, **(metadata or {})},
    )
    payment = payments.submit_direct_debit(payment=payment, provider_reference=end_to_end_id)
    if confirm:
        payment = payments.confirm_direct_debit(
            payment=payment, provisional_until=timezone.localdate() + timedelta(days=8)
        )
    return payment


def upload(client, content: bytes | Path, name: str = "statement.xml", **extra):
    if isinstance(content, Path):
        name, content = content.name, content.read_bytes()
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        "/api/v1/statements",
        {"file": SimpleUploadedFile(name, content, content_type="application/octet-stream")},
        format="multipart",
        **extra,
    )


def import_bytes(tenant, content: bytes, name: str = "statement.xml"):
    import io

    return services.import_statement_file(
        tenant=tenant, file=io.BytesIO(content), file_name=name, imported_by="test"
    ).statement_import


def reconcile(tenant, start: date, end: date | None = None) -> ReconciliationRun:
    return services.start_run(
        tenant=tenant,
        period_start=start,
        period_end=end or start,
        trigger=ReconciliationRun.Trigger.API,
        requested_by="test",
    )


def set_tolerance(tenant, **changes):
    return services.update_settings(tenant=tenant, **changes)


@pytest.fixture
def finance_api(tenant):
    return client_for(tenant, ["reports:read", "payments:write"])
