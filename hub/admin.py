from django.contrib import admin

from hub.models import AuditEntry
from tenants.admin_scoping import ReadOnlyTenantScopedAdmin, Role


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyTenantScopedAdmin):
    """Hub operators see every agency's trail; agency auditors their own."""

    view_roles = (Role.AUDITOR,)
    list_display = [
        "occurred_at",
        "tenant",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "status_code",
    ]
    list_filter = ["actor_kind", "tenant"]
    search_fields = ["object_id", "actor_label", "action"]
    date_hierarchy = "occurred_at"


from hub.events import admin as events_admin  # noqa: E402,F401  (registers the outbox admin)
