"""Celery tasks: thin, idempotent wrappers over reconciliation services."""

from celery import shared_task

from reconciliation import services


@shared_task(name="reconciliation.sweep_stripe_payouts")
def sweep_stripe_payouts() -> int:
    """Beat, daily before the runs: import paid Stripe payouts of every agency."""
    return services.sweep_payouts_for_every_agency()


@shared_task(name="reconciliation.reconcile_yesterday")
def reconcile_yesterday() -> list[str]:
    """Beat, daily: reconcile yesterday for every agency (skips agencies already done)."""
    return services.reconcile_yesterday_for_every_agency()
