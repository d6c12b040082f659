from django.contrib import admin, messages

from hub.events import delivery, dispatch
from hub.events.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tenants.admin_scoping import (
    ReadOnlyInline,
    ReadOnlyTenantScopedAdmin,
    Role,
    TenantScopedAdmin,
)


class DeliveryInline(ReadOnlyInline):
    model = WebhookDelivery
    fields = ["endpoint", "status", "attempt_count", "next_attempt_at", "completed_at"]
    show_change_link = True


@admin.register(Event)
class EventAdmin(ReadOnlyTenantScopedAdmin):
    list_display = [
        "created_at",
        "type",
        "tenant",
        "subject_id",
        "dispatched_at",
        "dispatch_attempts",
        "retry_at",
        "request_id",
    ]
    list_filter = ["type", "tenant"]
    # An operator tracing an API call pastes its X-Request-Id here.
    search_fields = ["id", "type", "subject_id", "request_id"]
    date_hierarchy = "created_at"
    inlines = [DeliveryInline]
    actions = ["redispatch"]

    @admin.action(description="Dispatch again (subscribers that already ran are skipped)")
    def redispatch(self, request, queryset):
        for event in queryset:
            dispatch.redispatch(event)
        messages.success(request, f"{queryset.count()} event(s) queued for dispatch.")


class AttemptInline(ReadOnlyInline):
    model = WebhookAttempt
    fields = ["number", "attempted_at", "status_code", "latency_ms", "error", "response_excerpt"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyTenantScopedAdmin):
    list_display = [
        "created_at",
        "event",
        "endpoint",
        "tenant",
        "status",
        "attempt_count",
        "next_attempt_at",
    ]
    list_filter = ["status", "tenant"]
    search_fields = ["id", "event__id", "event__type", "endpoint__url", "event__request_id"]
    readonly_fields = ["request_id"]
    inlines = [AttemptInline]

    @admin.display(description="request id (sent as X-Request-Id)")
    def request_id(self, obj) -> str:
        return obj.event.request_id or "—"

    actions = ["replay"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not self._has_role(request, (Role.AGENCY_ADMIN,)):
            actions.pop("replay", None)
        return actions

    @admin.action(description="Replay now")
    def replay(self, request, queryset):
        for item in queryset:
            delivery.replay(item)
        messages.success(request, f"{queryset.count()} delivery(ies) queued again.")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(TenantScopedAdmin):
    list_display = ["url", "tenant", "enabled", "flagged_at", "consecutive_failures", "created_at"]
    list_filter = ["enabled", "tenant"]
    search_fields = ["url", "description"]
    fields = [
        "tenant",
        "url",
        "description",
        "event_types",
        "enabled",
        "flagged_at",
        "consecutive_failures",
    ]
    readonly_fields = ["flagged_at", "consecutive_failures"]
    actions = ["replay_failed"]

    def has_add_permission(self, request):
        return False  # created through the API, which shows the secret once

    @admin.action(description="Replay all failed deliveries")
    def replay_failed(self, request, queryset):
        total = sum(delivery.replay_failed(endpoint) for endpoint in queryset)
        messages.success(request, f"{total} failed delivery(ies) queued again.")
