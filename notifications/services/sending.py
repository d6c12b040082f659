"""Sending one notice: record it, check who it may go to, render, send, record the outcome.

Runs inside a ``calls_out`` subscriber (hub/events/subscribers.py): no transaction of the
dispatcher's is open, and this module opens only short ones of its own. The mail server is
called with no transaction open and no row locked; the notice row is claimed beforehand
with a lease (a conditional UPDATE, committed), so a second worker on the same event does
not send it twice, and a worker killed mid-send leaves a lease that runs out.

A send that fails is recorded (``failed``, the error) and re-raised: the dispatcher leaves
the event undispatched and the outbox sweep runs the subscriber again after the webhook
back-off (hub/events/dispatch.py ``retry_delay``). There is no second retry loop here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import formataddr, make_msgid, parseaddr

from django.conf import settings as django_settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from hub.crypto import keyed_hash
from hub.events.models import Event
from notifications.kinds import KIND_SWITCH, NoticeKind
from notifications.models import BouncedAddress, Notice, NotificationSettings
from notifications.rendering import RenderedNotice, render_notice
from notifications.selectors import notification_settings
from registration.models import Constituent

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
S = Notice.Status


class NoticeNotSent(RuntimeError):
    """The mail server did not take the notice; the outbox retries the event."""


@dataclass(frozen=True)
class NoticeRequest:
    kind: NoticeKind
    event: Event
    subject_id: str
    address: str
    constituent: Constituent | None
    language: str
    context: dict = field(default_factory=dict)
    # Runs once the notice is sent, and again on a retry of an already sent notice, so
    # it must be idempotent (the advance notice tells collection it went out).
    after_sent: Callable[[Notice], None] | None = None


def address_hash(address: str) -> str:
    return keyed_hash(address.strip().lower(), purpose="notice-email")


def mask_address(address: str) -> str:
    """ "jan.jansen@example.org" -> "j***@example.org"."""
    local, _, domain = address.strip().partition("@")
    if not domain:
        return "***"
    return f"{local[:1]}***@{domain}"


def kind_enabled(settings: NotificationSettings, kind: NoticeKind) -> bool:
    switch = KIND_SWITCH.get(kind)
    return True if switch is None else bool(getattr(settings, switch))


def _suppression(request: NoticeRequest) -> str:
    constituent = request.constituent
    if constituent is not None and (
        constituent.status == Constituent.Status.DECEASED or constituent.deceased_on
    ):
        return Notice.Suppression.DECEASED
    if not request.address:
        return Notice.Suppression.NO_ADDRESS
    if BouncedAddress.objects.filter(address_hash=address_hash(request.address)).exists():
        return Notice.Suppression.BOUNCED
    return ""


def _sender(settings: NotificationSettings) -> str:
    _, address = parseaddr(django_settings.DEFAULT_FROM_EMAIL)
    return formataddr((settings.sender_name or settings.tenant.name, address))


def _reply_to(settings: NotificationSettings) -> list[str]:
    address = settings.reply_to or settings.tenant.contact_email
    return [address] if address else []


def _message(
    request: NoticeRequest, settings: NotificationSettings, rendered: RenderedNotice
) -> EmailMessage:
    sender = _sender(settings)
    domain = parseaddr(sender)[1].partition("@")[2] or None
    return EmailMessage(
        subject=rendered.subject,
        body=rendered.body,
        from_email=sender,
        to=[request.address],
        reply_to=_reply_to(settings),
        headers={
            "Message-ID": make_msgid(domain=domain),
            # Mail servers and clients: an automatic message, no out-of-office replies.
            "Auto-Submitted": "auto-generated",
            "Content-Language": request.language,
        },
    )


def _provider_message_id(message: EmailMessage) -> str:
    """The ESP's id (django-anymail sets ``anymail_status``), else our Message-ID."""
    status = getattr(message, "anymail_status", None)
    if status is not None and getattr(status, "message_id", None):
        return str(status.message_id)
    return message.extra_headers["Message-ID"]


def send_notice(request: NoticeRequest) -> Notice | None:
    """Send the notice ``request`` describes once; None when the agency switched it off."""
    event = request.event
    tenant = event.tenant
    settings = notification_settings(tenant)
    if not kind_enabled(settings, request.kind):
        return None  # the agency's own letters: it has the webhook, as before
    with transaction.atomic():
        notice, _ = Notice.objects.get_or_create(
            tenant=tenant,
            event=event,
            kind=request.kind,
            defaults={
                "event_type": event.type,
                "subject_id": request.subject_id,
                "constituent_id": request.constituent.pk if request.constituent else "",
                "language": request.language,
            },
        )
    if notice.status == S.SENT:
        _after_sent(request, notice)
        return notice
    if notice.status == S.SUPPRESSED:
        return notice
    reason = _suppression(request)
    if reason:
        Notice.objects.filter(pk=notice.pk).update(
            status=S.SUPPRESSED,
            suppressed_reason=reason,
            recipient_masked=mask_address(request.address) if request.address else "",
            recipient_hash=address_hash(request.address) if request.address else "",
        )
        notice.refresh_from_db()
        return notice

    rendered = render_notice(
        kind=request.kind, tenant=tenant, language=request.language, context=request.context
    )
    now = timezone.now()
    claimed = (
        Notice.objects.filter(pk=notice.pk)
        .filter(Q(status__in=[S.PENDING, S.FAILED]) | Q(status=S.SENDING, lease_until__lt=now))
        .update(
            status=S.SENDING,
            lease_until=now + LEASE,
            attempt_count=F("attempt_count") + 1,
            recipient_masked=mask_address(request.address),
            recipient_hash=address_hash(request.address),
            language=request.language,
            subject=rendered.subject[:255],
        )
    )
    if not claimed:
        notice.refresh_from_db()
        if notice.status == S.SENT:
            _after_sent(request, notice)
            return notice
        raise NoticeNotSent(f"notice {notice.pk} is being sent by another worker")

    message = _message(request, settings, rendered)
    try:
        message.send(fail_silently=False)  # no transaction open, no row locked
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
        Notice.objects.filter(pk=notice.pk, status=S.SENDING).update(
            status=S.FAILED, last_error=error, lease_until=None
        )
        logger.warning("notice %s (%s) not sent: %s", notice.pk, request.kind, error)
        raise NoticeNotSent(error) from exc
    Notice.objects.filter(pk=notice.pk).update(
        status=S.SENT,
        sent_at=timezone.now(),
        provider_message_id=_provider_message_id(message)[:255],
        last_error="",
        lease_until=None,
    )
    notice.refresh_from_db()
    _after_sent(request, notice)
    return notice


def _after_sent(request: NoticeRequest, notice: Notice) -> None:
    if request.after_sent is not None:
        request.after_sent(notice)
