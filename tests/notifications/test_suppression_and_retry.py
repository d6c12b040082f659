"""Who never gets a notice (the deceased, a bounced address), switches, and retries."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

import pytest
from django.contrib.admin.sites import site
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from hub.errors import InvalidRequest
from hub.events import dispatch
from hub.events.models import Event
from notifications import services
from notifications.models import BouncedAddress, Notice
from registration.models import Constituent
from tenants.scope import all_tenants, tenant_scope
from tests.collection.conftest import dispatch_pending
from tests.notifications import backends
from tests.notifications.conftest import give_email, notice_settings
from tests.payments.conftest import paid_payment

pytestmark = pytest.mark.django_db


@pytest.fixture
def card_service(tenant):
    from tenants import services as tenant_services

    return tenant_services.create_service(
        tenant=tenant, code="permit", name="Permit", interaction_kind="discretionary"
    )


def notices(tenant, kind):
    with tenant_scope(tenant):
        return list(Notice.objects.filter(kind=kind))


def test_no_notice_to_a_constituent_recorded_as_deceased(tenant, collections, card_service):
    constituent = collections.constituent()
    give_email(constituent, "late.citizen@example.org")
    Constituent.objects.filter(pk=constituent.pk).update(
        status=Constituent.Status.DECEASED, deceased_on=dt.date(2024, 1, 5)
    )
    paid_payment(tenant, card_service, constituent=constituent, email="late.citizen@example.org")
    dispatch_pending()
    assert mail.outbox == []
    [notice] = notices(tenant, "payment_confirmation")
    assert (notice.status, notice.suppressed_reason) == ("suppressed", "deceased")
    assert notice.recipient_masked == "l***@example.org"


def test_a_bounced_address_is_not_written_to_again(tenant, card_service, make_tenant):
    paid_payment(tenant, card_service, email="Gone@Example.org")
    dispatch_pending()
    [first] = mail.outbox
    [sent] = notices(tenant, "payment_confirmation")
    bounced, new = services.record_bounce_of_notice(
        notice=sent, reason="550 mailbox unavailable", recorded_by="admin:operator"
    )
    assert new and bounced.address_masked == "G***@Example.org"
    assert "gone" not in bounced.address_hash  # only a keyed hash, never the address
    # The same address, differently written, at another agency: still bounced.
    other = make_tenant("permits", name="Permits Office")
    from tenants import services as tenant_services

    other_service = tenant_services.create_service(
        tenant=other, code="p", name="P", interaction_kind="discretionary"
    )
    paid_payment(other, other_service, email="gone@example.org ")
    dispatch_pending()
    assert mail.outbox == [first]
    [held] = notices(other, "payment_confirmation")
    assert (held.status, held.suppressed_reason) == ("suppressed", "bounced")
    # Recorded twice: one row.
    assert (
        services.record_bounce(address="gone@example.org", reason="x", recorded_by="t")[1] is False
    )
    assert BouncedAddress.objects.count() == 1


def test_recording_a_bounce_needs_an_address():
    with pytest.raises(InvalidRequest) as refused:
        services.record_bounce(address="not an address", reason="", recorded_by="t")
    assert refused.value.code == "invalid_email"
    assert BouncedAddress.objects.count() == 0


def test_the_admin_action_marks_the_recipient_as_bounced(tenant, card_service, admin_client):
    paid_payment(tenant, card_service, email="citizen@example.org")
    dispatch_pending()
    [notice] = notices(tenant, "payment_confirmation")
    response = admin_client.post(
        "/admin/notifications/notice/",
        {"action": "mark_bounced", "_selected_action": [notice.pk]},
        follow=True,
    )
    assert response.status_code == 200
    [bounced] = BouncedAddress.objects.all()
    assert bounced.notice_id == notice.pk and bounced.recorded_by.startswith("admin:")
    assert site.is_registered(Notice)


def test_a_kind_switched_off_sends_nothing_and_leaves_the_webhook(tenant, card_service):
    notice_settings(tenant, payment_confirmations=False)
    payment = paid_payment(tenant, card_service, email="citizen@example.org")
    dispatch_pending()
    assert mail.outbox == []
    assert notices(tenant, "payment_confirmation") == []
    with all_tenants():
        assert Event.objects.filter(type="payment.succeeded", subject_id=payment.pk).exists()


def test_sender_name_reply_to_and_footer_are_the_agencys(tenant, card_service):
    notice_settings(
        tenant, sender_name="Belastingdienst", reply_to="help@agency.example", footer="Bel 0800"
    )
    paid_payment(tenant, card_service, email="citizen@example.org")
    dispatch_pending()
    [message] = mail.outbox
    assert message.from_email == "Belastingdienst <notices@hub.localhost>"
    assert message.reply_to == ["help@agency.example"]
    assert "Bel 0800" in message.body and "help@agency.example" in message.body
    assert "Belastingdienst has received your payment" in message.body


@override_settings(EMAIL_BACKEND="tests.notifications.backends.FlakyBackend")
def test_a_failed_send_is_recorded_and_retried_from_the_outbox_with_back_off(tenant, card_service):
    backends.refusals["left"] = 1
    payment = paid_payment(tenant, card_service, email="citizen@example.org")
    with all_tenants():
        event = Event.objects.get(type="payment.succeeded", subject_id=payment.pk)
    assert dispatch.dispatch_event(event.pk) is False  # the mail server refused
    assert mail.outbox == []
    [notice] = notices(tenant, "payment_confirmation")
    assert notice.status == "failed" and "mail server did not answer" in notice.last_error
    assert notice.attempt_count == 1
    with all_tenants():
        event.refresh_from_db()
    assert event.dispatched_at is None and event.retry_at is not None
    # The sweep leaves it alone until its back-off has passed, then takes it again.
    assert event.pk not in dispatch.undispatched_event_ids(
        now=event.retry_at - timedelta(seconds=1)
    )
    later = max(event.retry_at, event.created_at + dispatch.SWEEP_GRACE) + timedelta(seconds=1)
    assert event.pk in dispatch.undispatched_event_ids(now=later)
    assert dispatch.dispatch_event(event.pk) is True
    [message] = mail.outbox
    [notice] = notices(tenant, "payment_confirmation")
    assert (notice.status, notice.attempt_count, notice.last_error) == ("sent", 2, "")
    assert notice.provider_message_id == message.extra_headers["Message-ID"]
    # Dispatched again (an operator's replay): the notice is not sent twice.
    dispatch.redispatch(event)
    assert dispatch.dispatch_event(event.pk) is True
    assert len(mail.outbox) == 1


def test_the_back_off_grows_like_the_webhooks(settings):
    settings.HUB_WEBHOOK_RETRY_SCHEDULE = [5, 300, 1800]
    assert [dispatch.retry_delay(n).total_seconds() for n in (1, 2, 3, 9)] == [5, 300, 1800, 1800]


def test_a_notice_another_worker_is_sending_is_not_sent_again(tenant, card_service):
    payment = paid_payment(tenant, card_service, email="citizen@example.org")
    with all_tenants():
        event = Event.objects.get(type="payment.succeeded", subject_id=payment.pk)
    with tenant_scope(tenant):
        Notice.objects.create(
            tenant=tenant,
            event=event,
            kind="payment_confirmation",
            event_type=event.type,
            subject_id=payment.pk,
            language="en",
            status=Notice.Status.SENDING,
            lease_until=timezone.now() + timedelta(minutes=1),
        )
    assert dispatch.dispatch_event(event.pk) is False  # busy: retried later
    assert mail.outbox == []
