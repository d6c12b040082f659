"""Celery tasks of payments: thin wrappers over services, safe to run twice."""

from dataclasses import asdict

from celery import shared_task

from payments import services
from payments.services import stuck_payments


@shared_task(name="payments.expire_unfinished_payments")
def expire_unfinished_payments() -> int:
    """Beat, every minute: unfinished payments past their expiry become expired."""
    return services.expire_overdue_payments()


@shared_task(name="payments.resync_with_providers")
def resync_with_providers() -> dict:
    """Beat, every five minutes: the stuck-payment check (payments, late fees, open refunds)."""
    return asdict(stuck_payments.run())
