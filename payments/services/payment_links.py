"""Payment links: an agency's public page that takes payments without an integration.

The agency creates a link (admin or API) and shares its address; a citizen opens it,
gives the reference (and the amount, when the agency did not fix it), and continues on
the ordinary hosted payment page: ``pay_by_link`` creates the payment through
``create_payment`` like any other, with the link recorded on it.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from hub.errors import Conflict, InvalidRequest
from payments.models import Payment, PaymentLink
from payments.rules import payment_links as rules
from payments.services.lifecycle import MAX_AMOUNT, create_payment
from tenants.models import Language, Service, Tenant
from tenants.scope import acting_for

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,58}[a-z0-9])$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
EDITABLE_FIELDS = (
    "title",
    "description",
    "service",
    "amount",
    "min_amount",
    "max_amount",
    "reference_label",
    "reference_hint",
    "reference_pattern",
    "languages",
    "translations",
    "active",
    "expires_at",
)


class LinkUnavailable(Conflict):
    """The link is disabled or past its expiry: the page answers 410, the API 409."""

    default_code = "payment_link_unavailable"

    def __init__(self, message: str, *, reason: str):
        super().__init__(message, code=f"payment_link_{reason}")
        self.reason = reason  # "disabled" or "expired"


class ReferenceRefused(InvalidRequest):
    default_code = "reference_invalid"


class AmountRefused(InvalidRequest):
    default_code = "amount_invalid"


def create_payment_link(
    *,
    tenant: Tenant,
    service: Service,
    title: str,
    reference_label: str,
    currency: str | None = None,
    description: str = "",
    amount: int | None = None,
    min_amount: int | None = None,
    max_amount: int | None = None,
    reference_hint: str = "",
    reference_pattern: str = "",
    languages: list[str] | None = None,
    translations: dict | None = None,
    expires_at: datetime | None = None,
    slug: str | None = None,
) -> PaymentLink:
    """A new, active link. Without a slug the hub makes an unguessable one."""
    now = timezone.now()
    link = PaymentLink(
        tenant=tenant,
        service=service,
        slug=slug or _new_slug(),
        title=(title or "").strip(),
        description=(description or "").strip(),
        currency=(currency or tenant.default_currency).upper(),
        amount=amount,
        min_amount=min_amount,
        max_amount=max_amount,
        reference_label=(reference_label or "").strip(),
        reference_hint=(reference_hint or "").strip(),
        reference_pattern=reference_pattern or "",
        languages=list(languages or []),
        translations=dict(translations or {}),
        expires_at=expires_at,
        created_at=now,
        updated_at=now,
    )
    with acting_for(tenant):
        validate_payment_link(link)
        try:
            with transaction.atomic():
                link.save(force_insert=True)
        except IntegrityError as exc:
            raise Conflict(
                f"The slug {link.slug!r} is taken", code="slug_taken", field="slug"
            ) from exc
    return link


def update_payment_link(*, link: PaymentLink, changes: dict) -> PaymentLink:
    """Change what the link asks or whether it takes payments (``active``).

    Payments already made keep what they were made with; the currency and the slug do
    not change (a shared address must keep meaning the same thing).
    """
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        field = sorted(unknown)[0]
        raise InvalidRequest(f"Cannot change {field}", code="field_not_editable", field=field)
    with acting_for(link.tenant), transaction.atomic():
        link = PaymentLink.objects.select_for_update().get(pk=link.pk)
        for field, value in changes.items():
            if isinstance(value, str) and field != "reference_pattern":
                value = value.strip()
            setattr(link, field, value)
        validate_payment_link(link)
        link.updated_at = timezone.now()
        link.save()
    return link


def disable_payment_link(*, link: PaymentLink) -> PaymentLink:
    return update_payment_link(link=link, changes={"active": False})


def validate_payment_link(link: PaymentLink) -> None:
    """Every rule a link must keep; an ``InvalidRequest`` naming the field if not."""
    if not link.title:
        raise InvalidRequest("Give the link a title", code="blank", field="title")
    if not link.reference_label:
        raise InvalidRequest(
            "Say what the reference is called", code="blank", field="reference_label"
        )
    if not SLUG.match(link.slug):
        raise InvalidRequest(
            "A slug is 3 to 60 lower-case letters, digits and hyphens",
            code="invalid_slug",
            field="slug",
        )
    if not CURRENCY.match(link.currency):
        raise InvalidRequest(
            "Currency must be an ISO 4217 code", code="invalid_currency", field="currency"
        )
    if link.service.tenant_id != link.tenant_id:
        raise InvalidRequest("No such service", code="does_not_exist", field="service")
    _validate_amounts(link)
    try:
        rules.compile_reference_pattern(link.reference_pattern)
    except rules.ReferencePatternError as exc:
        raise InvalidRequest(str(exc), code="invalid_pattern", field="reference_pattern") from exc
    if not isinstance(link.languages, list) or any(
        language not in Language.values for language in link.languages
    ):
        raise InvalidRequest(
            f"Languages are a list of {', '.join(Language.values)}",
            code="unknown_language",
            field="languages",
        )
    if len(set(link.languages)) != len(link.languages):
        raise InvalidRequest(
            "A language is listed twice", code="duplicate_language", field="languages"
        )
    _validate_translations(link)


MAX_TRANSLATION_LENGTHS = {
    "title": 255,
    "description": 2000,
    "reference_label": 100,
    "reference_hint": 255,
}


def _validate_translations(link: PaymentLink) -> None:
    translations = link.translations
    if not isinstance(translations, dict):
        raise InvalidRequest(
            "Translations are an object keyed by language",
            code="invalid_translations",
            field="translations",
        )
    offered = link.languages or Language.values
    for language, fields in translations.items():
        if language not in offered:
            raise InvalidRequest(
                f"{language!r} is not one of the link's languages",
                code="unknown_language",
                field="translations",
            )
        if not isinstance(fields, dict):
            raise InvalidRequest(
                f"translations.{language} must be an object",
                code="invalid_translations",
                field="translations",
            )
        for name, text in fields.items():
            limit = MAX_TRANSLATION_LENGTHS.get(name)
            if limit is None:
                raise InvalidRequest(
                    f"translations.{language}.{name}: only {', '.join(MAX_TRANSLATION_LENGTHS)}",
                    code="invalid_translations",
                    field="translations",
                )
            if not isinstance(text, str) or len(text) > limit:
                raise InvalidRequest(
                    f"translations.{language}.{name}: text of at most {limit} characters",
                    code="invalid_translations",
                    field="translations",
                )


def _validate_amounts(link: PaymentLink) -> None:
    if link.amount is not None:
        if link.min_amount is not None or link.max_amount is not None:
            raise InvalidRequest(
                "A fixed amount takes no minimum or maximum",
                code="amount_and_range",
                field="amount",
            )
        _within_bounds(link.amount, "amount")
        return
    if link.min_amount is None or link.max_amount is None:
        raise InvalidRequest(
            "Give a fixed amount, or the minimum and maximum the citizen may enter",
            code="amount_required",
            field="amount"
            if link.min_amount is None and link.max_amount is None
            else ("min_amount" if link.min_amount is None else "max_amount"),
        )
    _within_bounds(link.min_amount, "min_amount")
    _within_bounds(link.max_amount, "max_amount")
    if link.max_amount < link.min_amount:
        raise InvalidRequest(
            "The maximum is less than the minimum", code="invalid_range", field="max_amount"
        )


def _within_bounds(value, field: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < MAX_AMOUNT:
        raise InvalidRequest(
            f"{field} must be a positive whole number of minor units below {MAX_AMOUNT}",
            code="amount_too_small" if isinstance(value, int) and value <= 0 else "invalid_amount",
            field=field,
        )


def _new_slug() -> str:
    return secrets.token_hex(8)


def check_link_usable(link: PaymentLink, *, now: datetime | None = None) -> None:
    """``LinkUnavailable`` for a disabled or expired link."""
    now = now or timezone.now()
    if not link.active:
        raise LinkUnavailable("This payment link has been disabled", reason="disabled")
    if link.expires_at is not None and link.expires_at <= now:
        raise LinkUnavailable("This payment link has expired", reason="expired")


def pay_by_link(
    *, link: PaymentLink, reference: str, amount: int | None = None, language: str = ""
) -> Payment:
    """The citizen's payment from the link, ready for the hosted payment page.

    The reference must match the link's pattern; the amount is the link's own, or the
    one the citizen entered within the link's range.
    """
    check_link_usable(link)
    reference = (reference or "").strip()
    if not reference:
        raise ReferenceRefused("Enter the reference", code="reference_required", field="reference")
    if not rules.reference_matches(link.reference_pattern, reference):
        raise ReferenceRefused(
            "The reference is not in the form this agency uses", field="reference"
        )
    if link.fixed_amount:
        amount = link.amount
    else:
        if amount is None:
            raise AmountRefused("Enter the amount", code="amount_required", field="amount")
        problem = rules.AmountRange(link.min_amount, link.max_amount).problem(amount)
        if problem:
            raise AmountRefused(
                f"The amount is {problem.replace('_', ' ')}",
                code=f"amount_{problem}",
                field="amount",
            )
    return create_payment(
        tenant=link.tenant,
        service=link.service,
        amount=amount,
        currency=link.currency,
        description=link.title,
        reference=reference,
        language=language,
        metadata={"payment_link": link.pk},
        payment_link=link,
    )
