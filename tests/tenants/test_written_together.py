"""tenants.statements.written_together: the compiled INSERTs of a block reach PostgreSQL
as one statement, and write what they would have written one by one."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from hub.events.models import Event
from payments.models import Payment, PaymentEvent
from tenants import services
from tenants.scope import all_tenants, tenant_scope
from tenants.statements import CompiledInsert, written_together
from tests.payments.conftest import new_payment

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

PAYMENTS = CompiledInsert(Payment)
TIMELINE = CompiledInsert(PaymentEvent)
EVENTS = CompiledInsert(Event)


def field_values(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


@pytest.fixture
def template(tenant):
    service = services.create_service(
        tenant=tenant, code="fees", name="Fees", interaction_kind="regulatory"
    )
    return new_payment(tenant, service)


def rows_for(template, suffix: str):
    fields = {
        f.attname: getattr(template, f.attname)
        for f in Payment._meta.concrete_fields
        if f.attname not in ("id", "hosted_token")
    }
    payment = Payment(id=f"pay_{suffix}", hosted_token=f"t-{suffix}", **fields)
    timeline = PaymentEvent(
        tenant_id=template.tenant_id,
        payment=payment,
        from_state="",
        to_state="created",
        applied=True,
        source="test",
        detail={"n": suffix},
    )
    event = Event(
        tenant_id=template.tenant_id,
        id=f"evt_{suffix}",
        type="payment.created",
        subject_id=payment.pk,
        payload={"id": payment.pk, "quote": 'it\'s "x"'},
    )
    return payment, timeline, event


def insert_all(rows) -> None:
    payment, timeline, event = rows
    PAYMENTS.insert(payment)
    TIMELINE.insert(timeline)
    with all_tenants():
        EVENTS.insert(event)


def stored(rows) -> list[dict]:
    payment, timeline, event = rows
    with all_tenants():
        return [
            field_values(Payment.objects.get(pk=payment.pk)),
            field_values(PaymentEvent.objects.get(pk=timeline.pk)),
            field_values(Event.objects.get(pk=event.pk)),
        ]


def test_one_statement_writes_the_rows_one_by_one_would(tenant, template):
    one_by_one, together = rows_for(template, "apart"), rows_for(template, "joint")
    with tenant_scope(tenant), transaction.atomic():
        insert_all(one_by_one)
        with CaptureQueriesContext(connection) as captured, written_together():
            insert_all(together)
            assert captured.captured_queries == []  # nothing sent before the block ends
        assert len(captured.captured_queries) == 1
        assert captured.captured_queries[0]["sql"].startswith("WITH w0 AS (INSERT")
        assert together[1].pk is not None  # the timeline row's auto id came back
        assert together[1].pk == PaymentEvent.objects.get(payment_id="pay_joint").pk
        apart, joint = stored(one_by_one), stored(together)
    for values in (apart, joint):
        values[1].pop("id"), values[1].pop("occurred_at")
        values[2].pop("created_at")
        values[0].pop("hosted_token")
    assert repr(joint).replace("joint", "X") == repr(apart).replace("apart", "X")


def test_a_read_in_the_block_sees_the_rows_written_before_it(tenant, template):
    rows = rows_for(template, "seen")
    with tenant_scope(tenant), transaction.atomic(), written_together():
        PAYMENTS.insert(rows[0])
        assert Payment.objects.filter(pk="pay_seen").exists()  # sent before the SELECT
        TIMELINE.insert(rows[1])
    assert rows[1].pk is not None


def test_a_failed_insert_surfaces_at_the_end_and_dooms_the_transaction(tenant, template):
    first, again = rows_for(template, "dup"), rows_for(template, "dup")
    with tenant_scope(tenant):
        with pytest.raises(IntegrityError), transaction.atomic():
            insert_all(first)
            with written_together():
                PAYMENTS.insert(again[0])  # the same id
            pytest.fail("the duplicate must raise when the block ends")
        assert not Payment.objects.filter(pk="pay_dup").exists()  # all rolled back


@pytest.mark.django_db(transaction=True)  # autocommit: no test transaction around it
def test_outside_a_transaction_each_insert_runs_at_once(tenant, template):
    rows = rows_for(template, "autocommit")
    with tenant_scope(tenant), CaptureQueriesContext(connection) as captured, written_together():
        insert_all(rows)
        assert len(captured.captured_queries) == 3
    assert not any(q["sql"].startswith("WITH") for q in captured.captured_queries)


def test_a_block_that_raises_writes_nothing(tenant, template):
    rows = rows_for(template, "gone")
    with tenant_scope(tenant), transaction.atomic():
        with pytest.raises(RuntimeError), written_together():
            insert_all(rows)
            raise RuntimeError("refused half-way")
        assert not Payment.objects.filter(pk="pay_gone").exists()
        with all_tenants():
            assert not Event.objects.filter(pk="evt_gone").exists()


def test_the_payment_api_writes_payment_timeline_and_event_in_one_statement(api, tenant):
    service = services.create_service(
        tenant=tenant, code="permit", name="Permit", interaction_kind="discretionary"
    )
    body = {
        "amount": 1250,
        "currency": "EUR",
        "description": "Permit",
        "reference": "P-1",
        "service": service.pk,
        "return_url": "https://agency.example/return",
    }
    with CaptureQueriesContext(connection) as captured:
        response = api.post("/api/v1/payments", body, HTTP_IDEMPOTENCY_KEY="together-1")
    assert response.status_code == 201, response.content
    joint = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("WITH w0 AS")]
    assert len(joint) == 1
    assert all(table in joint[0] for table in ("payments_payment", "payments_paymentevent"))
    assert '"hub_event"' in joint[0]
    pk = response.json()["id"]
    with all_tenants():
        assert PaymentEvent.objects.filter(payment_id=pk, to_state="created").count() == 1
        assert Event.objects.filter(subject_id=pk, type="payment.created").count() == 1
