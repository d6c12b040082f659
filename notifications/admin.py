"""The operator's view of notices: each agency's settings, every notice, bounced addresses."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils import timezone

from hub.errors import HubError
from notifications import services
from notifications.models import BouncedAddress, Notice, NotificationSettings
from tenants.admin_scoping import ReadOnlyTenantScopedAdmin, TenantScopedAdmin
from tenants.models import StaffMembership
from tenants.scope import tenant_scope
from tenants.selectors import tenants_for_user, user_has_role

Role = StaffMembership.Role
# Who answers citizens (caseworkers) may mark an address as bounced.
BOUNCE_ROLES = (Role.AGENCY_ADMIN, Role.CASEWORKER)


def _actor(request) -> str:
    return f"admin:{request.user.get_username()}"


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(TenantScopedAdmin):
    list_display = [
        "tenant",
        "sender_name",
        "payment_confirmations",
        "refund_confirmations",
        "mandate_confirmations",
        "reminders",
        "failed_collections",
        "updated_at",
    ]
    readonly_fields = ["updated_at"]
    fieldsets = [
        (None, {"fields": ["tenant"]}),
        ("What notices say about the agency", {"fields": ["sender_name", "reply_to", "footer"]}),
        (
            "Which notices the hub sends",
            {
                "description": (
                    "A notice switched off is not sent: the agency's systems get the "
                    "webhook only and write to the citizen themselves. The direct-debit "
                    "advance notice is switched in the agency's collection settings."
                ),
                "fields": [
                    "payment_confirmations",
                    "refund_confirmations",
                    "mandate_confirmations",
                    "reminders",
                    "failed_collections",
                ],
            },
        ),
        ("How reminders let citizens pay", {"fields": ["reminder_payment_link"]}),
        (None, {"fields": ["updated_at"]}),
    ]

    def save_model(self, request, obj, form, change):
        obj.updated_at = timezone.now()
        with tenant_scope(obj.tenant):
            super().save_model(request, obj, form, change)


@admin.register(Notice)
class NoticeAdmin(ReadOnlyTenantScopedAdmin):
    list_display = [
        "id",
        "tenant",
        "kind",
        "recipient_masked",
        "language",
        "status",
        "suppressed_reason",
        "attempt_count",
        "created_at",
        "sent_at",
    ]
    list_filter = ["kind", "status", "language", "tenant"]
    search_fields = ["id", "subject_id", "constituent_id", "provider_message_id", "event__id"]
    actions = ["mark_bounced"]

    def has_mark_bounced_permission(self, request):
        return tenants_for_user(request.user, list(BOUNCE_ROLES)).exists()

    @admin.action(
        description="The recipient's address bounced: never write to it again",
        permissions=["mark_bounced"],
    )
    def mark_bounced(self, request, queryset):
        marked = 0
        for notice in queryset.select_related("tenant"):
            if not user_has_role(request.user, notice.tenant, list(BOUNCE_ROLES)):
                messages.error(request, f"{notice.pk}: not your agency's notice")
                continue
            try:
                _, new = services.record_bounce_of_notice(
                    notice=notice,
                    reason="bounce reported to the agency",
                    recorded_by=_actor(request),
                )
            except HubError as error:
                messages.error(request, f"{notice.pk}: {error.message}")
                continue
            marked += new
        messages.success(request, f"{marked} address(es) marked as bounced")


@admin.register(BouncedAddress)
class BouncedAddressAdmin(admin.ModelAdmin):
    """Hub-wide (an address bounces for every agency): hub operators only."""

    list_display = ["address_masked", "reason", "recorded_by", "recorded_at", "notice"]
    search_fields = ["address_masked", "reason"]
    readonly_fields = [
        "address_hash",
        "address_masked",
        "reason",
        "notice",
        "recorded_by",
        "recorded_at",
    ]

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Deleting is "write to it again" (the citizen fixed the mailbox).
        return request.user.is_active and request.user.is_superuser
