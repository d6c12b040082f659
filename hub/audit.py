"""Recording the audit trail for API writes and admin changes."""

from __future__ import annotations

from hub.models import AuditEntry
from tenants import scope
from tenants.models import Tenant
from tenants.statements import CompiledInsert

# Every API write records one: its INSERT built once per process.
_ENTRY_INSERT = CompiledInsert(
    AuditEntry,
    save_override="AuditEntry.save() only refuses to change a saved entry; this only adds",
)


def client_address(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def record(
    *,
    tenant: Tenant,
    actor_kind: str,
    actor_id: str,
    actor_label: str,
    action: str,
    object_type: str = "",
    object_id: str = "",
    summary: str = "",
    changes: dict | None = None,
    status_code: int | None = None,
    remote_addr: str | None = None,
) -> AuditEntry:
    # An audit entry is written for the tenant named, from any scope (API request,
    # admin, job): recording must never fail for want of a scope.
    with scope.all_tenants():
        return _ENTRY_INSERT.insert(
            AuditEntry(
                tenant=tenant,
                actor_kind=actor_kind,
                actor_id=str(actor_id)[:64],
                actor_label=actor_label[:200],
                action=action[:100],
                object_type=object_type[:100],
                object_id=str(object_id or "")[:64],
                summary=summary,
                changes=changes or {},
                status_code=status_code,
                remote_addr=remote_addr,
            )
        )


def record_api_write(request, response, view) -> None:
    principal = request.user
    data = response.data if isinstance(getattr(response, "data", None), dict) else {}
    object_id = data.get("id") or view.kwargs.get(
        getattr(view, "lookup_url_kwarg", None) or "pk", ""
    )
    model = getattr(view, "model", None)
    record(
        tenant=principal.tenant,
        actor_kind=AuditEntry.ActorKind.API_KEY,
        actor_id=principal.api_key.pk,
        actor_label=f"API key {principal.api_key.prefix} ({principal.api_key.name})",
        action=f"{request.method} {request.path}",
        object_type=model._meta.label if model else view.__class__.__name__,
        object_id=object_id,
        status_code=response.status_code,
        remote_addr=client_address(request),
    )


ADMIN_ACTIONS = {1: "admin add", 2: "admin change", 3: "admin delete"}


def audit_admin_log_entry(sender, instance, created, **kwargs) -> None:
    """Mirror one of Django's admin LogEntry rows into the audit trail."""
    if not created or instance.content_type is None:
        return
    model = instance.content_type.model_class()
    if model is None:
        return
    # The admin works across agencies: find the logged object by id to learn whose
    # audit trail it belongs in.
    with scope.all_tenants():
        obj = model._base_manager.filter(pk=instance.object_id).first()
    tenant = obj if isinstance(obj, Tenant) else getattr(obj, "tenant", None)
    if not isinstance(tenant, Tenant):
        return  # hub-wide objects (users, schedules) have Django's own admin log
    record(
        tenant=tenant,
        actor_kind=AuditEntry.ActorKind.STAFF_USER,
        actor_id=instance.user_id,
        actor_label=f"staff {instance.user.get_username()}",
        action=ADMIN_ACTIONS.get(instance.action_flag, "admin"),
        object_type=model._meta.label,
        object_id=instance.object_id,
        summary=instance.object_repr,
        changes={"message": instance.get_change_message()},
    )
