"""Liveness for load balancers and operators: can the hub reach its database, broker and
cache, and are the workers keeping up with the outbox?

The HTTP status follows the database only: it holds every payment and the event outbox,
so a web process without it cannot serve. Without the broker or the cache (Redis) the
API still accepts writes — events wait in the outbox and the sweep dispatches them once
the broker is back; the rate limiter counts per process — so a load balancer must not
take the web processes out for that. ``status`` is then "degraded" and ``degraded``
names the components at fault, for monitoring to page someone.
"""

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.celery import app as celery_app
from hub.events.dispatch import MAX_DISPATCH_ATTEMPTS
from hub.events.models import Event
from tenants.scope import all_tenants


def database_ok() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True, connection.vendor
    except Exception as exc:  # health must report, not raise
        return False, type(exc).__name__


def broker_ok() -> tuple[bool, str]:
    try:
        with celery_app.connection_for_write() as conn:
            # One quick retry, not kombu's 2-second wait: a load balancer's probe must get
            # its answer (degraded, still 200) well within its own timeout.
            conn.ensure_connection(max_retries=1, interval_start=0.2, timeout=2)
            return True, conn.transport_cls if isinstance(conn.transport_cls, str) else "ok"
    except Exception as exc:
        return False, type(exc).__name__


def cache_ok() -> tuple[bool, str]:
    try:
        cache.set("hub:health", "1", timeout=10)
        if cache.get("hub:health") != "1":
            return False, "value not kept"
        return True, type(cache).__name__
    except Exception as exc:
        return False, type(exc).__name__


def outbox_ok() -> tuple[bool, int | None]:
    """Whether the oldest event not yet dispatched is younger than the allowed lag
    (the dispatch runs on commit and the sweep every 30 s: a long wait means no worker
    or no beat). Events whose subscribers failed every attempt are the admin's."""
    try:
        # The outbox lag is the whole hub's health, across every agency's events.
        with all_tenants():
            oldest = (
                Event.objects.filter(
                    dispatched_at__isnull=True, dispatch_attempts__lt=MAX_DISPATCH_ATTEMPTS
                )
                .order_by("created_at")
                .values_list("created_at", flat=True)
                .first()
            )
    except Exception:
        return False, None
    if oldest is None:
        return True, None
    waiting = int((timezone.now() - oldest).total_seconds())
    return waiting <= settings.HUB_HEALTH_MAX_OUTBOX_LAG_SECONDS, waiting


class HealthView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        summary="Database and broker reachability, and outbox lag",
        auth=[],
        responses={
            200: inline_serializer(
                "Health",
                {
                    "status": serializers.ChoiceField(choices=["ok", "degraded", "down"]),
                    "degraded": serializers.ListField(child=serializers.CharField()),
                    "database": serializers.DictField(),
                    "broker": serializers.DictField(),
                    "cache": serializers.DictField(),
                    "outbox": serializers.DictField(),
                },
            ),
            503: inline_serializer(
                "HealthDown",
                {
                    "status": serializers.CharField(),
                    "degraded": serializers.ListField(child=serializers.CharField()),
                },
            ),
        },
    )
    def get(self, request):
        db_up, db_detail = database_ok()
        broker_up, broker_detail = broker_ok()
        cache_up, cache_detail = cache_ok()
        outbox_up, waiting = outbox_ok() if db_up else (False, None)
        checks = {"database": db_up, "broker": broker_up, "cache": cache_up, "outbox": outbox_up}
        at_fault = [name for name, up in checks.items() if not up]
        status = "degraded" if at_fault else "ok"
        if not db_up:
            status = "down"
        return Response(
            {
                "status": status,
                "degraded": at_fault,
                "database": {"ok": db_up, "detail": db_detail},
                "broker": {"ok": broker_up, "detail": broker_detail},
                "cache": {"ok": cache_up, "detail": cache_detail},
                "outbox": {"ok": outbox_up, "oldest_undispatched_seconds": waiting},
            },
            status=200 if db_up else 503,
        )
