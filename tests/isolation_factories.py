"""One factory per tenant-owned model an API route exposes: ``model label → (tenant) → obj``.

The generic cross-tenant test walks every API route and fails if a route's model has
no factory here, so a new endpoint is covered the day it is added.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from tenants import services

FACTORIES: dict[str, Callable] = {}


def factory(label: str):
    def register(function: Callable) -> Callable:
        FACTORIES[label] = function
        return function

    return register


@factory("tenants.Service")
def make_service(tenant):
    return services.create_service(
        tenant=tenant,
        code=f"svc-{os.urandom(3).hex()}",
        name="Isolation probe",
        interaction_kind="regulatory",
    )


@factory("hub.WebhookEndpoint")
def make_webhook_endpoint(tenant):
    from hub.events.endpoints import create_endpoint

    return create_endpoint(tenant=tenant, url="http://127.0.0.1:9/hook", event_types=["*"]).endpoint


@factory("hub.Event")
def make_event(tenant):
    from django.db import transaction

    from hub.events.outbox import publish

    with transaction.atomic():
        return publish(tenant=tenant, type="webhook.ping", subject_id="probe", payload={})


def _register(tenant):
    from registration import services as registration_services
    from tests.support.identifiers import random_bsn

    return registration_services.register_constituent(
        tenant=tenant,
        actor="test",
        kind="person",
        identifier_scheme="nl_bsn",
        identifier_value=random_bsn(),
        name="Isolation Probe",
        purpose="test",
        legal_basis="public_task",
    )


@factory("registration.Constituent")
def make_constituent(tenant):
    return _register(tenant).constituent


@factory("registration.Registration")
def make_registration(tenant):
    return _register(tenant).registration


@factory("registration.LifeEvent")
def make_life_event(tenant):
    from datetime import date

    from registration import services as registration_services

    constituent = _register(tenant).constituent
    return registration_services.record_life_event(
        tenant=tenant,
        actor="test",
        constituent=constituent,
        kind="address_change",
        occurred_on=date(2024, 1, 1),
        details={"address": {"line1": "1 Road", "postcode": "1000", "city": "X", "country": "NL"}},
    ).life_event


@factory("registration.ProactiveService")
def make_proactive_service(tenant):
    from registration import services as registration_services

    return registration_services.declare_proactive_service(
        tenant=tenant,
        service=services.create_service(
            tenant=tenant,
            code=f"pro-{os.urandom(3).hex()}",
            name="Isolation probe",
            interaction_kind="proactive",
        ),
        life_event_kinds=["death"],
        eligibility_hint="Probe",
        link="https://example.org/probe",
    )


def _sandbox_payment(tenant):
    from payments.services import create_payment

    return create_payment(
        tenant=tenant,
        service=make_service(tenant),
        amount=1250,
        currency="EUR",
        description="Isolation probe",
        reference="probe",
    )


@factory("payments.Payment")
def make_payment(tenant):
    return _sandbox_payment(tenant)


@factory("payments.PaymentEvent")
def make_payment_event(tenant):
    return _sandbox_payment(tenant).timeline.first()


def _paid_sandbox_payment(tenant):
    from payments.services.sandbox_payments import pay_with_test_card

    return pay_with_test_card(payment=_sandbox_payment(tenant), card_number="4242424242424242")


@factory("payments.Refund")
def make_refund(tenant):
    from payments.services import create_refund

    return create_refund(payment=_paid_sandbox_payment(tenant), amount=250)


@factory("payments.Dispute")
def make_dispute(tenant):
    from payments.providers.base import DisputeReport
    from payments.services.disputes import record_dispute

    report = DisputeReport(
        provider_reference=f"dp_{os.urandom(8).hex()}",
        amount=1250,
        currency="EUR",
        status="needs_response",
        reason="fraudulent",
    )
    return record_dispute(
        payment=_paid_sandbox_payment(tenant), report=report, source="test"
    ).dispute


@factory("payments.PaymentLink")
def make_payment_link(tenant):
    from payments.services import create_payment_link
    from tenants.scope import tenant_scope

    with tenant_scope(tenant):
        return create_payment_link(
            tenant=tenant,
            service=make_service(tenant),
            title="Probe",
            reference_label="Ref",
            amount=100,
        )


def _reconciled_statement(tenant):
    """A statement with a receipt nobody expected, imported and reconciled: it yields an
    import, a line, a run and an exception of ``tenant``."""
    import io

    from django.utils import timezone

    from reconciliation import services as reconciliation
    from tests.reconciliation.camt import Entry, camt053

    day = timezone.localdate()
    content = camt053(
        [Entry(4200, remittance=f"probe {os.urandom(4).hex()}")],
        booked=day,
        statement_id=f"PROBE-{os.urandom(4).hex()}",
    )
    statement_import = reconciliation.import_statement_file(
        tenant=tenant, file=io.BytesIO(content), file_name="probe.xml", imported_by="test"
    ).statement_import
    run = reconciliation.start_run(
        tenant=tenant, period_start=day, period_end=day, trigger="api", requested_by="test"
    )
    return statement_import, run


@factory("reconciliation.StatementImport")
def make_statement_import(tenant):
    return _reconciled_statement(tenant)[0]


@factory("reconciliation.StatementLine")
def make_statement_line(tenant):
    return _reconciled_statement(tenant)[0].statements.get().lines.get()


@factory("reconciliation.ReconciliationRun")
def make_reconciliation_run(tenant):
    return _reconciled_statement(tenant)[1]


@factory("reconciliation.ReconciliationException")
def make_reconciliation_exception(tenant):
    from reconciliation.models import ReconciliationException

    run = _reconciled_statement(tenant)[1]
    return ReconciliationException.objects.get(first_run=run)


def _collection_plan(tenant):
    """A debt in a three-instalment plan on a SEPA mandate, made through the services."""
    from datetime import date

    from collection.models import CollectionSettings
    from collection.services import debts, mandates, plans

    CollectionSettings.objects.get_or_create(
        tenant=tenant,
        defaults={
            "creditor_name": "Isolation Probe",
            "creditor_iban": "NL91ABNA0417164300",
            "creditor_bic": "ABNANL2A",
            "creditor_id": "DE98ZZZ09999999999",
        },
    )
    constituent = make_constituent(tenant)
    debt = debts.create_debt(
        tenant=tenant,
        constituent_id=constituent.pk,
        service_id=make_service(tenant).pk,
        reference=f"probe-{os.urandom(4).hex()}",
        description="Isolation probe",
        amount=900,
        currency="EUR",
        due_date=date(2024, 3, 1),
    )
    mandate = mandates.create_mandate(
        tenant=tenant,
        constituent_id=constituent.pk,
        scheme="sepa_core",
        account_holder_name="Isolation Probe",
        signed_on=date(2024, 1, 2),
        iban="DE89370400440532013000",
        today=date(2024, 1, 2),
    )
    plan = plans.create_plan(
        tenant=tenant,
        debt=debt,
        mandate_id=mandate.pk,
        frequency="monthly",
        count=3,
        first_date=date(2024, 3, 1),
        today=date(2024, 1, 2),
    )
    return debt, mandate, plan


def _collection_run(tenant):
    """A completed bank-file run (with its pain.008 file) of the plan's first instalment."""
    from datetime import date

    from collection.services import runs

    _collection_plan(tenant)
    run = runs.start_run(tenant=tenant, run_date=date(2024, 2, 29), trigger="api", enqueue=False)
    return runs.process_run(run=run)


@factory("collection.Debt")
def make_debt(tenant):
    return _collection_plan(tenant)[0]


@factory("collection.Mandate")
def make_mandate(tenant):
    return _collection_plan(tenant)[1]


@factory("collection.PaymentPlan")
def make_payment_plan(tenant):
    return _collection_plan(tenant)[2]


@factory("collection.Instalment")
def make_instalment(tenant):
    return _collection_plan(tenant)[2].instalments.get(sequence=1)


@factory("collection.CollectionRun")
def make_collection_run(tenant):
    return _collection_run(tenant)


@factory("collection.ReturnFile")
def make_return_file(tenant):
    from collection.services import returns
    from tests.collection.conftest import pain002

    run = _collection_run(tenant)
    attempt = run.attempts.get()
    report = pain002(
        f"PROBE-{os.urandom(4).hex()}", run.file_message_id, [(attempt.end_to_end_id, "AM04", None)]
    )
    return returns.import_return_file(tenant=tenant, filename="probe.xml", content=report).file


@factory("notifications.Notice")
def make_notice(tenant):
    from notifications.models import Notice

    event = make_event(tenant)
    return Notice.objects.create(
        tenant=tenant,
        event=event,
        kind="payment_confirmation",
        event_type=event.type,
        subject_id=event.subject_id,
        language="en",
        status=Notice.Status.SENT,
        recipient_masked="p***@example.org",
    )
