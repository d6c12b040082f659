"""What collection events carry: enough for an agency to act without calling back."""

from __future__ import annotations

from collection.models import CollectionAttempt, CollectionRun, Debt, Instalment, Mandate


def debt_payload(debt: Debt) -> dict:
    return {
        "id": debt.pk,
        "constituent": debt.constituent_id,
        "service": debt.service_id,
        "reference": debt.reference,
        "amount": debt.amount,
        "currency": debt.currency,
        "balance": debt.balance,
        "amount_collected": debt.amount_collected,
        "amount_returned": debt.amount_returned,
        "amount_written_off": debt.amount_written_off,
        "state": debt.state,
        "due_date": debt.due_date.isoformat(),
        "arrears_since": debt.arrears_since.isoformat() if debt.arrears_since else None,
        "dunning_step": debt.dunning_step,
    }


def mandate_payload(mandate: Mandate) -> dict:
    return {
        "id": mandate.pk,
        "constituent": mandate.constituent_id,
        "scheme": mandate.scheme,
        "reference": mandate.reference,
        "account": mandate.account_masked,
        "state": mandate.state,
        "end_reason": mandate.end_reason,
    }


def instalment_payload(instalment: Instalment, attempt: CollectionAttempt | None = None) -> dict:
    payload = {
        "id": instalment.pk,
        "debt": instalment.debt_id,
        "payment_plan": instalment.plan_id,
        "mandate": instalment.mandate_id,
        "sequence": instalment.sequence,
        "due_date": instalment.due_date.isoformat(),
        "amount": instalment.amount,
        "currency": instalment.currency,
        "state": instalment.state,
        "attempts": instalment.attempt_count,
    }
    if attempt is not None:
        payload["attempt"] = {
            "id": attempt.pk,
            "number": attempt.number,
            "payment": attempt.payment_id,
            "collection_date": attempt.collection_date.isoformat(),
            "end_to_end_id": attempt.end_to_end_id,
        }
    return payload


def run_payload(run: CollectionRun) -> dict:
    return {
        "id": run.pk,
        "run_date": run.run_date.isoformat(),
        "state": run.state,
        "provider": run.provider,
        "selected": run.selected_count,
        "submitted": run.submitted_count,
        "declined": run.declined_count,
        "totals": run.totals,
        "file": bool(run.file),
        "error": run.error,
    }
