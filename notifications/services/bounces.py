"""Bounced addresses: recorded once, hub-wide; no notice is written to them again.

Recorded by an operator in the admin (the notice's action "The recipient's address
bounced", from the bounce the mail server sent back) or by code given the address. The
address itself is not stored: its keyed hash finds it, its masked form shows it.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from hub.errors import InvalidRequest
from notifications.models import BouncedAddress, Notice
from notifications.services.sending import address_hash, mask_address


def _record(*, address_hash_: str, masked: str, reason: str, recorded_by: str, notice=None):
    try:
        with transaction.atomic():
            return BouncedAddress.objects.create(
                address_hash=address_hash_,
                address_masked=masked,
                reason=reason[:300],
                notice=notice,
                recorded_by=recorded_by[:200],
            ), True
    except IntegrityError:
        return BouncedAddress.objects.get(address_hash=address_hash_), False


def record_bounce(*, address: str, reason: str, recorded_by: str) -> tuple[BouncedAddress, bool]:
    """Mark ``address`` as bounced; (the record, whether it is new)."""
    address = (address or "").strip()
    if "@" not in address:
        raise InvalidRequest("An email address is needed", code="invalid_email", field="address")
    return _record(
        address_hash_=address_hash(address),
        masked=mask_address(address),
        reason=reason,
        recorded_by=recorded_by,
    )


def record_bounce_of_notice(
    *, notice: Notice, reason: str, recorded_by: str
) -> tuple[BouncedAddress, bool]:
    """The address ``notice`` was sent to bounced (found by its hash, never stored)."""
    if not notice.recipient_hash:
        raise InvalidRequest(
            "This notice was not written to any address", code="notice_has_no_recipient"
        )
    return _record(
        address_hash_=notice.recipient_hash,
        masked=notice.recipient_masked,
        reason=reason,
        recorded_by=recorded_by,
        notice=notice,
    )


def forget_bounce(*, bounced: BouncedAddress) -> None:
    """The citizen fixed their mailbox (or gave the same address again): write to it again."""
    bounced.delete()
