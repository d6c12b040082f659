"""What the admin's landing page shows: the figures of operations.selectors for the
agencies the signed-in person may see, each with a link to the admin list behind it.

Each section covers only the agencies where the person may open the list behind it:
the roles of that list's own ModelAdmin (``view_roles``) decide, so a caseworker sees
their agency's collections but not its payments, as in the rest of the admin.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.exceptions import NotRegistered
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from collection.models import CollectionRun
from hub.events.models import WebhookDelivery
from hub.money import format_money
from operations import charts, selectors
from payments.models import Payment
from reconciliation.models import ReconciliationException
from tenants.selectors import tenants_for_user


@dataclass(frozen=True)
class Figure:
    label: str
    value: str
    link: str
    alert: bool = False


@dataclass
class Section:
    title: str
    figures: list[Figure] = field(default_factory=list)
    tables: list[dict] = field(default_factory=list)
    charts: list[dict] = field(default_factory=list)


def admin_list(model_path: str, **filters) -> str:
    url = reverse(f"admin:{model_path}_changelist")
    query = {key: value for key, value in filters.items() if value not in (None, "")}
    return f"{url}?{urlencode(query)}" if query else url


def money_text(amounts: dict[str, int]) -> str:
    return " + ".join(format_money(v, c) for c, v in sorted(amounts.items())) or "—"


def age_text(since: dt.datetime | None, now: dt.datetime) -> str:
    if since is None:
        return "none"
    seconds = int((now - since).total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def build(request, *, now: dt.datetime | None = None) -> dict:
    now = now or timezone.now()
    visible = tenants_for_user(request.user).order_by("name")
    chosen = request.GET.get("agency") or ""
    tenants = visible.filter(slug=chosen) if chosen else visible
    if chosen and not tenants.exists():
        chosen, tenants = "", visible  # not one of theirs: the same as no choice
    agency_pk = tenants.get().pk if chosen else None
    period = selectors.Period.named(request.GET.get("period"), now=now)
    since = period.start.isoformat()

    def link(model_path: str, date_field: str | None = "created_at", **filters) -> str:
        if date_field:
            filters[f"{date_field}__gte"] = since
        return admin_list(model_path, tenant=agency_pk, **filters)

    def allowed(model):
        return _viewable(request.user, model, tenants)

    sections = []
    if (shown := allowed(Payment)) is not None:
        sections.append(_payments(shown, period, link))
    if (shown := allowed(CollectionRun)) is not None:
        sections.append(_collections(shown, period, link))
    if (shown := allowed(ReconciliationException)) is not None:
        sections.append(_reconciliation(shown, now, link))
    if (shown := allowed(WebhookDelivery)) is not None:
        sections.append(_webhooks(shown, period, now, link))
    return {
        "period": period,
        "periods": selectors.PERIODS,
        "agencies": list(visible.values_list("slug", "name")),
        "agency": chosen,
        "sections": sections,
        "jobs": _jobs(now) if request.user.is_superuser else None,
        "generated_at": now,
    }


def _viewable(user, model, tenants):
    """``tenants`` narrowed to those whose ``model`` list ``user`` may open; None if none."""
    if user.is_superuser:
        return tenants
    try:
        roles = list(admin.site.get_model_admin(model).view_roles)
    except (NotRegistered, AttributeError):
        return None
    shown = tenants.filter(pk__in=tenants_for_user(user, roles).values("pk"))
    return shown if shown.exists() else None


def _payments(tenants, period, link) -> Section:
    by_state = selectors.payments_by_state(tenants, period)
    rate = selectors.success_rate(by_state)
    section = Section("Payments")
    section.figures.append(
        Figure(
            "Payments created",
            str(sum(f.count for f in by_state.values())),
            link("payments_payment"),
        )
    )
    section.figures.append(
        Figure(
            "Success rate",
            "—" if rate is None else f"{rate:.1%}",
            link("payments_payment", state__in=",".join(selectors.FINISHED_STATES)),
            alert=rate is not None and rate < 0.8,
        )
    )
    refunds = selectors.refunds_by_state(tenants, period)
    section.figures.append(
        Figure(
            "Refunds",
            f"{sum(f.count for f in refunds.values())} · "
            f"{money_text(_merge(f.amounts for f in refunds.values()))}",
            link("payments_refund"),
        )
    )
    disputes = selectors.disputes_by_status(tenants, period)
    section.figures.append(
        Figure(
            "Disputes",
            f"{sum(f.count for f in disputes.values())} · "
            f"{money_text(_merge(f.amounts for f in disputes.values()))}",
            link("payments_dispute"),
            alert=bool(disputes),
        )
    )
    section.tables.append(
        {
            "caption": f"Payments by state, {period.label.lower()}",
            "headers": ["State", "Payments", "Amount"],
            "rows": [
                (
                    {"text": state, "link": link("payments_payment", state__exact=state)},
                    figure.count,
                    money_text(figure.amounts),
                )
                for state, figure in sorted(by_state.items())
            ],
        }
    )
    volumes = selectors.payment_volumes(tenants, period)
    names = [_bucket_name(p.bucket, period) for p in volumes]
    section.charts.append(
        {
            "title": "Payments over time",
            "svg": charts.column_chart(
                f"Payments created and succeeded, {period.label.lower()}",
                names,
                [
                    charts.Series("created", [p.created for p in volumes]),
                    charts.Series("succeeded", [p.succeeded for p in volumes]),
                ],
            ),
            "headers": ["When", "Created", "Succeeded"],
            "rows": [(n, p.created, p.succeeded) for n, p in zip(names, volumes, strict=True)],
            "link": link("payments_payment"),
        }
    )
    section.charts.append(
        {
            "title": "Success rate over time",
            "svg": charts.column_chart(
                f"Share of finished payments that succeeded, {period.label.lower()}",
                names,
                [charts.Series("success rate", [p.success_rate or 0 for p in volumes])],
                percent=True,
            ),
            "headers": ["When", "Finished", "Success rate"],
            "rows": [
                (n, p.finished, "—" if p.success_rate is None else f"{p.success_rate:.0%}")
                for n, p in zip(names, volumes, strict=True)
            ],
            "link": link("payments_payment", state__in=",".join(selectors.FINISHED_STATES)),
        }
    )
    return section


def _collections(tenants, period, link) -> Section:
    figures = selectors.collection_figures(tenants, period)
    section = Section("Collections")
    failed_runs = figures.runs_by_state.get("failed", 0)
    section.figures += [
        Figure(
            "Collection runs",
            str(sum(figures.runs_by_state.values())),
            link("collection_collectionrun"),
        ),
        Figure(
            "Failed runs",
            str(failed_runs),
            link("collection_collectionrun", state__exact="failed"),
            alert=failed_runs > 0,
        ),
        Figure("Instalments selected", str(figures.selected), link("collection_collectionrun")),
        Figure(
            "Collected",
            str(figures.collected),
            link("collection_collectionrun"),
        ),
        Figure(
            "Returned",
            str(figures.returned),
            link("collection_returnedattempt", date_field="failed_at", returned__exact=1),
        ),
        Figure(
            "Failed",
            str(figures.failed),
            link("collection_returnedattempt", date_field="failed_at", returned__exact=0),
        ),
    ]
    section.charts.append(
        {
            "title": "Returns and rejections by reason code",
            "svg": charts.bar_chart(
                f"Returns and rejections by reason code, {period.label.lower()}",
                figures.returns_by_reason,
            ),
            "headers": ["Reason code", "Count"],
            "rows": [
                (
                    {
                        "text": code,
                        "link": link(
                            "collection_returnedattempt",
                            date_field="failed_at",
                            failure_code__exact=code,
                        ),
                    },
                    n,
                )
                for code, n in figures.returns_by_reason
            ],
            "link": link("collection_returnedattempt", date_field="failed_at"),
        }
    )
    return section


def _reconciliation(tenants, now, link) -> Section:
    exceptions = selectors.open_exceptions(tenants, now=now)
    ages = [label for label, _, _ in selectors.EXCEPTION_AGES]
    total = sum(sum(row.values()) for row in exceptions.values())
    old = sum(row[ages[-1]] for row in exceptions.values())
    section = Section("Reconciliation")
    section.figures += [
        Figure(
            "Open exceptions",
            str(total),
            link("reconciliation_reconciliationexception", date_field=None, state__exact="open"),
        ),
        Figure(
            "Open for over 7 days",
            str(old),
            link(
                "reconciliation_reconciliationexception",
                date_field=None,
                state__exact="open",
                created_at__lt=(now - dt.timedelta(days=7)).isoformat(),
            ),
            alert=old > 0,
        ),
    ]
    section.tables.append(
        {
            "caption": "Open exceptions by kind and age",
            "headers": ["Kind", *ages],
            "rows": [
                (
                    {
                        "text": kind.replace("_", " "),
                        "link": link(
                            "reconciliation_reconciliationexception",
                            date_field=None,
                            state__exact="open",
                            kind__exact=kind,
                        ),
                    },
                    *(row[a] for a in ages),
                )
                for kind, row in exceptions.items()
            ],
        }
    )
    return section


def _webhooks(tenants, period, now, link) -> Section:
    health = selectors.webhook_health(tenants, period)
    section = Section("Webhooks")
    failed = health.deliveries_by_status.get("failed", 0)
    section.figures += [
        Figure(
            "Deliveries",
            str(sum(health.deliveries_by_status.values())),
            link("hub_webhookdelivery"),
        ),
        Figure(
            "Failed deliveries",
            str(failed),
            link("hub_webhookdelivery", status__exact="failed"),
            alert=failed > 0,
        ),
        Figure(
            "Failing endpoints",
            str(health.failing_endpoints),
            link("hub_webhookendpoint", date_field=None, consecutive_failures__gt=0),
            alert=health.failing_endpoints > 0,
        ),
        Figure(
            "Flagged endpoints",
            str(health.flagged_endpoints),
            link("hub_webhookendpoint", date_field=None, flagged_at__isnull="False"),
            alert=health.flagged_endpoints > 0,
        ),
        Figure(
            "Oldest undelivered webhook",
            age_text(health.oldest_undelivered_at, now),
            link("hub_webhookdelivery", date_field=None, status__exact="pending"),
        ),
        Figure(
            "Outbox lag (oldest undispatched event)",
            age_text(health.oldest_undispatched_at, now),
            link("hub_event", date_field=None, dispatched_at__isnull="True"),
            alert=health.oldest_undispatched_at is not None
            and (now - health.oldest_undispatched_at).total_seconds() > 300,
        ),
    ]
    section.tables.append(
        {
            "caption": f"Webhook deliveries by status, {period.label.lower()}",
            "headers": ["Status", "Deliveries"],
            "rows": [
                ({"text": status, "link": link("hub_webhookdelivery", status__exact=status)}, n)
                for status, n in sorted(health.deliveries_by_status.items())
            ],
        }
    )
    return section


def _jobs(now) -> list[dict]:
    from operations import metrics

    failures = metrics.task_failures()
    return [
        {
            "name": job.name,
            "task": job.task,
            "enabled": job.enabled,
            "last_run_at": job.last_run_at,
            "next_run_at": job.next_run_at,
            "failures": failures.get(job.task, 0),
            "link": reverse("admin:django_celery_beat_periodictask_change", args=[job.pk]),
        }
        for job in selectors.scheduled_jobs(now=now)
    ]


def _merge(amounts) -> dict[str, int]:
    total: dict[str, int] = {}
    for by_currency in amounts:
        for currency, value in by_currency.items():
            total[currency] = total.get(currency, 0) + value
    return total


def _bucket_name(bucket, period) -> str:
    if period.by_hour:
        return f"{bucket:%H}:00"
    return date_format(bucket, "j M")
