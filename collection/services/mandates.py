"""Direct-debit mandates: record, activate, cancel, expire.

Account numbers are validated (schwifty for IBANs, the Bacs format for sort code and
account number), stored encrypted and shown only masked. Ending a mandate ends every plan
that collects through it: nothing is ever presented on a mandate that is not active.
"""

from __future__ import annotations

import datetime as dt
import re

from django.db import IntegrityError, transaction
from django.utils import timezone

from collection import events
from collection.models import CollectionProvider, Mandate, PaymentPlan
from collection.schemes import (
    AccountError,
    Scheme,
    mandate_usable_from,
    mask_account,
    sepa_mandate_expiry,
    validate_bacs_account,
    validate_bic,
    validate_iban,
)
from collection.selectors import collection_settings
from collection.services.payloads import mandate_payload
from collection.services.plans import end_plan
from hub.errors import Conflict, InvalidRequest, RuleViolation
from hub.events.outbox import publish
from registration.selectors import visible_constituent
from tenants.ids import new_id
from tenants.models import Tenant

M = Mandate.State
LIVE = (M.PENDING, M.ACTIVE)

# SEPA: the EPC restricted character set, no spaces (we may generate these). Bacs: 6 to 18
# characters from A-Z 0-9 . & / - and space, at least 6 of them letters or digits.
_SEPA_REFERENCE = re.compile(r"^[A-Za-z0-9/\-?:().,'+]{1,35}$")
_BACS_REFERENCE = re.compile(r"^[A-Z0-9.&/\- ]{6,18}$")


def _publish(mandate: Mandate, event_type: str) -> None:
    publish(
        tenant=mandate.tenant,
        type=event_type,
        subject_id=mandate.pk,
        payload=mandate_payload(mandate),
    )


def _check_reference(reference: str, scheme: Scheme) -> str:
    reference = reference.strip()
    if scheme is Scheme.SEPA_CORE:
        ok = bool(_SEPA_REFERENCE.fullmatch(reference)) and not (
            reference.startswith("/") or reference.endswith("/") or "//" in reference
        )
        rule = "1-35 characters from A-Z a-z 0-9 / - ? : ( ) . , ' + (no spaces, no '//')"
    else:
        reference = reference.upper()
        ok = bool(_BACS_REFERENCE.fullmatch(reference)) and (
            sum(c.isalnum() for c in reference) >= 6 and len(set(reference)) > 1
        )
        rule = "6-18 characters from A-Z 0-9 . & / - and space, at least 6 letters or digits"
    if not ok:
        raise InvalidRequest(
            f"A {scheme.value} mandate reference must be {rule}",
            code="invalid_reference",
            field="reference",
        )
    return reference


def _generated_reference(mandate_id: str, scheme: Scheme) -> str:
    random_part = mandate_id.split("_", 1)[1].upper()
    if scheme is Scheme.BACS:
        return f"HUB{random_part[:15]}"  # 18 characters, the Bacs maximum
    return f"HUB-{random_part}"


def _checked(field: str, check, *args, **kwargs):
    try:
        return check(*args, **kwargs)
    except AccountError as exc:
        raise InvalidRequest(exc.message, code=exc.code, field=field) from None


_BACS_FIELD_BY_CODE = {"invalid_sort_code": "sort_code", "invalid_account_number": "account_number"}


def _account_fields(
    scheme: Scheme, *, iban: str, bic: str, sort_code: str, account_number: str
) -> dict:
    if scheme is Scheme.SEPA_CORE:
        if sort_code or account_number:
            raise InvalidRequest(
                "A SEPA mandate takes an IBAN, not a sort code and account number",
                code="wrong_account_kind",
                field="sort_code" if sort_code else "account_number",
            )
        iban = _checked("iban", validate_iban, iban, sepa_only=True)
        bic = _checked("bic", validate_bic, bic) if bic else ""
        return {"iban": iban, "bic": bic, "account_masked": mask_account(iban)}
    if iban or bic:
        raise InvalidRequest(
            "A Bacs mandate takes a sort code and account number, not an IBAN or BIC",
            code="wrong_account_kind",
            field="iban" if iban else "bic",
        )
    try:
        sort_code, number = validate_bacs_account(sort_code, account_number)
    except AccountError as exc:
        field = _BACS_FIELD_BY_CODE.get(
            exc.code, "sort_code" if not sort_code else "account_number"
        )
        raise InvalidRequest(exc.message, code=exc.code, field=field) from None
    return {
        "sort_code": sort_code,
        "account_number": number,
        "account_masked": mask_account(number),
    }


@transaction.atomic
def create_mandate(
    *,
    tenant: Tenant,
    constituent_id: str,
    scheme: str,
    account_holder_name: str,
    signed_on: dt.date,
    reference: str = "",
    iban: str = "",
    bic: str = "",
    sort_code: str = "",
    account_number: str = "",
    stripe_customer: str = "",
    stripe_payment_method: str = "",
    stripe_mandate: str = "",
    usage: str = Mandate.Usage.RECURRING,
    today: dt.date | None = None,
) -> Mandate:
    today = today or timezone.localdate()
    scheme = Scheme(scheme)
    if usage not in Mandate.Usage.values:
        raise InvalidRequest(
            f"usage must be one of {', '.join(Mandate.Usage.values)}", field="usage"
        )
    if usage == Mandate.Usage.ONE_OFF and scheme is not Scheme.SEPA_CORE:
        # Bacs has no one-off instruction in the hub's sense; OOFF is a SEPA sequence type.
        raise InvalidRequest(
            "One-off mandates are SEPA Core only", code="one_off_sepa_only", field="usage"
        )
    constituent = visible_constituent(tenant, constituent_id)
    if constituent is None:
        raise InvalidRequest("No such constituent", code="does_not_exist", field="constituent")
    if signed_on > today:
        raise InvalidRequest(
            "A mandate cannot be signed in the future", code="signed_in_future", field="signed_on"
        )
    account = _account_fields(
        scheme, iban=iban, bic=bic, sort_code=sort_code, account_number=account_number
    )
    settings = collection_settings(tenant)
    if settings.provider == CollectionProvider.STRIPE:
        if not (stripe_payment_method and stripe_mandate):
            raise RuleViolation(
                "This agency collects through Stripe: give the Stripe PaymentMethod and "
                "Mandate ids the debtor set up",
                code="stripe_ids_required",
                field="stripe_mandate" if stripe_payment_method else "stripe_payment_method",
            )
    elif scheme is Scheme.BACS:
        raise RuleViolation(
            "Bank files are SEPA pain.008 only: Bacs mandates need the Stripe provider",
            code="scheme_not_supported_by_provider",
            field="scheme",
        )
    mandate_id = new_id("man")
    reference = (
        _check_reference(reference, scheme)
        if reference
        else _generated_reference(mandate_id, scheme)
    )
    if Mandate.objects.filter(tenant=tenant, reference=reference).exists():
        raise Conflict(
            f"A mandate with reference {reference!r} already exists",
            code="duplicate_reference",
            field="reference",
        )
    usable_from = mandate_usable_from(today, scheme)
    try:
        with transaction.atomic():
            mandate = Mandate.objects.create(
                id=mandate_id,
                tenant=tenant,
                constituent=constituent,
                scheme=scheme.value,
                usage=usage,
                reference=reference,
                signed_on=signed_on,
                account_holder_name=account_holder_name.strip(),
                stripe_customer=stripe_customer,
                stripe_payment_method=stripe_payment_method,
                stripe_mandate=stripe_mandate,
                state=M.ACTIVE if usable_from <= today else M.PENDING,
                active_from=usable_from,
                **account,
            )
    except IntegrityError:
        raise Conflict(
            f"A mandate with reference {reference!r} already exists",
            code="duplicate_reference",
            field="reference",
        ) from None
    _publish(mandate, events.MANDATE_CREATED)
    if mandate.state == M.ACTIVE:
        _publish(mandate, events.MANDATE_ACTIVE)
    return mandate


def end_mandate(*, mandate: Mandate, state: str, reason: str) -> bool:
    """Cancel, fail or expire a live mandate and end the plans collecting through it.

    Runs inside the caller's transaction; False if the mandate had already ended.
    """
    mandate = Mandate.objects.select_for_update().get(pk=mandate.pk)
    if mandate.state not in LIVE:
        return False
    for plan in PaymentPlan.objects.filter(
        tenant=mandate.tenant, mandate=mandate, state=PaymentPlan.State.ACTIVE
    ):
        end_plan(plan=plan, state=PaymentPlan.State.CANCELLED, reason=f"mandate {state}: {reason}")
    mandate.state = state
    mandate.end_reason = reason[:200]
    mandate.ended_at = timezone.now()
    mandate.save(update_fields=["state", "end_reason", "ended_at"])
    event_type = {
        M.CANCELLED: events.MANDATE_CANCELLED,
        M.FAILED: events.MANDATE_FAILED,
        M.EXPIRED: events.MANDATE_EXPIRED,
    }[state]
    _publish(mandate, event_type)
    return True


@transaction.atomic
def cancel_mandate(*, mandate: Mandate, reason: str) -> Mandate:
    """The agency (or the debtor through the agency) cancels the mandate."""
    if not end_mandate(mandate=mandate, state=M.CANCELLED, reason=reason or "cancelled"):
        raise Conflict(f"This mandate is already {mandate.state}", code="invalid_state")
    mandate.refresh_from_db()
    return mandate


def activate_due_mandates(*, tenant: Tenant, today: dt.date) -> int:
    """Bacs instructions whose lodgement period has passed become usable."""
    activated = 0
    pending = Mandate.objects.filter(tenant=tenant, state=M.PENDING, active_from__lte=today)
    for mandate_id in list(pending.values_list("pk", flat=True)):
        with transaction.atomic():
            mandate = Mandate.objects.select_for_update().get(pk=mandate_id)
            if mandate.state != M.PENDING:
                continue
            mandate.state = M.ACTIVE
            mandate.save(update_fields=["state"])
            _publish(mandate, events.MANDATE_ACTIVE)
            activated += 1
    return activated


def expire_unused_mandates(*, tenant: Tenant, today: dt.date) -> int:
    """SEPA mandates with no collection presented for 36 months expire."""
    expired = 0
    candidates = Mandate.objects.filter(
        tenant=tenant, scheme=Scheme.SEPA_CORE.value, state__in=LIVE
    ).only("pk", "signed_on", "last_presented_on")
    for mandate in list(candidates):
        if sepa_mandate_expiry(mandate.signed_on, mandate.last_presented_on) > today:
            continue
        with transaction.atomic():
            expired += end_mandate(
                mandate=mandate,
                state=M.EXPIRED,
                reason="no collection presented for 36 months",
            )
    return expired
