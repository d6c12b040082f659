"""Checks on an agency's collection settings, shared by the admin form and the run start.

The admin shows every problem at once (Django ValidationError per field); a run refuses to
start with the first one, before it claims a single instalment.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

from collection.schemes import (
    AccountError,
    Pain008Version,
    Scheme,
    notice_period_error,
    validate_bic,
    validate_creditor_id,
    validate_iban,
)

_STEP_NAME = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
_SERVICE_USER_NUMBER = re.compile(r"^[0-9]{6}$")


def _ladder_errors(ladder: object) -> list[str]:
    if not isinstance(ladder, list):
        return ['must be a list like [{"step": "reminder", "after_days": 3}]']
    errors: list[str] = []
    previous = 0
    names: set[str] = set()
    for position, step in enumerate(ladder, start=1):
        if not isinstance(step, dict) or set(step) != {"step", "after_days"}:
            errors.append(f"step {position} needs exactly 'step' and 'after_days'")
            continue
        name, days = step["step"], step["after_days"]
        if not isinstance(name, str) or not _STEP_NAME.fullmatch(name) or name in names:
            errors.append(f"step {position}: a unique lower-case name such as 'reminder'")
        if isinstance(days, bool) or not isinstance(days, int) or days <= previous:
            errors.append(f"step {position}: after_days must be a whole number above {previous}")
        else:
            previous = days
        names.add(name if isinstance(name, str) else "")
    return errors


def _delay_errors(delays: object) -> list[str]:
    if (
        not isinstance(delays, list)
        or not delays
        or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in delays)
    ):
        return ["must be a non-empty list of positive whole numbers of business days"]
    return []


def settings_errors(settings) -> dict[str, list[str]]:
    """Every problem, by field. Creditor fields are checked only when filled in."""
    errors: dict[str, list[str]] = {}
    checks = [
        ("creditor_iban", lambda v: validate_iban(v, sepa_only=True)),
        ("creditor_bic", validate_bic),
        ("creditor_id", validate_creditor_id),
    ]
    for field, check in checks:
        value = getattr(settings, field)
        if value:
            try:
                setattr(settings, field, check(value))
            except AccountError as exc:
                errors[field] = [exc.message]
    number = settings.bacs_service_user_number
    if number and not _SERVICE_USER_NUMBER.fullmatch(number):
        errors["bacs_service_user_number"] = ["a Bacs service user number has 6 digits"]
    if ladder := _ladder_errors(settings.dunning_ladder):
        errors["dunning_ladder"] = ladder
    if delays := _delay_errors(settings.retry_delays):
        errors["retry_delays"] = delays
    for field, scheme in (
        ("sepa_advance_notice_days", Scheme.SEPA_CORE),
        ("bacs_advance_notice_days", Scheme.BACS),
    ):
        if problem := notice_period_error(scheme, getattr(settings, field)):
            errors[field] = [problem]
    if settings.chunk_size < 1:
        errors["chunk_size"] = ["at least 1"]
    return errors


def validate_settings(settings) -> None:
    errors = settings_errors(settings)
    if errors:
        raise ValidationError(errors)


def sepa_creditor_errors(settings) -> list[str]:
    """What a bank-file run needs before it can write a pain.008 file.

    The creditor BIC is needed only for pain.008.001.02; .08 files may be IBAN-only.
    """
    required = ["creditor_name", "creditor_iban", "creditor_id"]
    if settings.pain008_version == Pain008Version.V02:
        required.insert(2, "creditor_bic")
    missing = [field for field in required if not getattr(settings, field)]
    problems = [f"{field} is not set" for field in missing]
    for field, messages in settings_errors(settings).items():
        if field.startswith("creditor_"):
            problems.extend(f"{field}: {m}" for m in messages)
    return problems
