from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from hub import audit
from hub.errors import HubError
from hub.events.models import Event, WebhookDelivery
from hub.models import AuditEntry
from registration import services
from registration.models import (
    Constituent,
    ConstituentAccess,
    ConstituentVersion,
    FieldAccess,
    FieldAuthority,
    Identifier,
    LifeEvent,
    LifeEventDiscrepancy,
    LifeEventNotice,
    LifeEventOffer,
    LifeEventReport,
    LifeEventResponse,
    ProactiveService,
    Registration,
)
from tenants.admin_scoping import ReadOnlyInline, Role, TenantScopedAdmin
from tenants.scope import all_tenants
from tenants.selectors import tenants_for_user

REGISTRY_ROLES = (Role.CASEWORKER, Role.AGENCY_ADMIN, Role.AUDITOR)


class OperatorsOnly:
    """Admin pages of hub-wide decisions: hub operators (superusers) see and change them;
    agency staff neither see nor change them."""

    def has_module_permission(self, request):
        return request.user.is_superuser

    # Each permission hook has its own signature (``obj`` for all but add), so each is
    # its own method: aliasing them to has_module_permission made every page a 500.
    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


class IdentifierInline(ReadOnlyInline):
    model = Identifier
    fields = ["scheme", "masked", "created_at"]  # never the value: it is shown masked only


class VersionInline(ReadOnlyInline):
    model = ConstituentVersion
    fields = ["version", "changed_at", "changed_by_tenant", "changed_by", "reason", "changes"]


class AccessInline(ReadOnlyInline):
    model = ConstituentAccess
    fields = ["created_at", "tenant", "action", "purpose", "legal_basis", "api_key_label"]
    verbose_name_plural = "access log (reads by agencies)"

    def get_queryset(self, request):
        # Hub operators see every agency's reads; agency staff their own agencies'.
        with all_tenants():
            return _own_agencies(request, ConstituentAccess.objects.select_related("tenant"))


class RegistryVisibilityMixin:
    """Hub-wide rows: agency staff see those their agency holds a registration for."""

    constituent_path = "registrations__tenant__in"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        tenants = tenants_for_user(request.user, list(REGISTRY_ROLES))
        return queryset.filter(**{self.constituent_path: tenants}).distinct()

    def has_module_permission(self, request):
        return (
            request.user.is_superuser
            or tenants_for_user(request.user, list(REGISTRY_ROLES)).exists()
        )

    def has_view_permission(self, request, obj=None):
        if obj is not None and not request.user.is_superuser:
            return self.get_queryset(request).filter(pk=obj.pk).exists()
        return self.has_module_permission(request)

    def has_add_permission(self, request, obj=None):
        return False  # registered through the API: the hub validates and de-duplicates

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Constituent)
class ConstituentAdmin(RegistryVisibilityMixin, admin.ModelAdmin):
    list_display = ["id", "name", "kind", "status", "masked_identifiers", "version", "created_at"]
    list_filter = ["kind", "status"]
    search_fields = ["id", "name"]
    inlines = [IdentifierInline, VersionInline, AccessInline]
    exclude = []
    actions = ["export_subject_access_json"]

    @admin.display(description="Identifiers")
    def masked_identifiers(self, constituent):
        return ", ".join(str(i) for i in constituent.identifiers.all())

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and request.user.is_superuser:
            fields.append("subject_access_export")
        return fields

    @admin.display(description="Subject-access export (GDPR art. 15)")
    def subject_access_export(self, constituent):
        # Hub operators only (get_readonly_fields): the export shows every agency's records.
        page = reverse("admin:registration_constituent_subject_access", args=[constituent.pk])
        return format_html(
            '<a href="{}">Readable page</a> · <a href="{}?format=json">JSON</a> '
            "(each opening is recorded in the audit trail of every agency it names)",
            page,
            page,
        )

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.is_superuser:
            actions.pop("export_subject_access_json", None)
        return actions

    def get_urls(self):
        own = [
            path(
                "<path:object_id>/subject-access/",
                self.admin_site.admin_view(self.subject_access_view),
                name="registration_constituent_subject_access",
            )
        ]
        return own + super().get_urls()

    def subject_access_view(self, request, object_id):
        """The export of one person, as a page to read or print, or ``?format=json``."""
        if not request.user.is_superuser:
            raise PermissionDenied  # it holds every agency's records of the person
        constituent = get_object_or_404(Constituent, pk=object_id)
        as_json = request.GET.get("format") == "json"
        exported = _export(request, constituent, "admin (json)" if as_json else "admin (page)")
        if as_json:
            return _json_download(exported, constituent)
        return HttpResponse(exported.html)

    @admin.action(description="Export everything held on the person (GDPR art. 15, JSON)")
    def export_subject_access_json(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(
                request, "Choose one person: an export is one person's copy.", messages.ERROR
            )
            return None
        constituent = queryset.get()
        return _json_download(_export(request, constituent, "admin action"), constituent)


def _export(request, constituent, channel):
    return services.export_subject_access(
        constituent=constituent,
        actor_kind=AuditEntry.ActorKind.STAFF_USER,
        actor_id=str(request.user.pk),
        actor_label=f"staff {request.user.get_username()}",
        channel=channel,
        remote_addr=audit.client_address(request),
    )


def _json_download(exported, constituent) -> HttpResponse:
    response = HttpResponse(exported.json_bytes, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="subject-access-{constituent.pk}.json"'
    return response


@admin.register(Registration)
class RegistrationAdmin(TenantScopedAdmin):
    view_roles = REGISTRY_ROLES
    change_roles = ()
    list_display = [
        "id",
        "tenant",
        "constituent",
        "agency_reference",
        "legal_basis",
        "status",
        "created_at",
    ]
    list_filter = ["status", "legal_basis", "tenant"]
    search_fields = ["id", "agency_reference", "constituent__id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def mask_personal(value: str) -> str:
    """A notifier's name or contact as the admin shows it: enough to recognise, not to
    read off ("J••• J•••••", "•••••••@example.org" → "j•••••@•••••••.org")."""
    if not value:
        return ""
    return " ".join(word[0] + "•" * (len(word) - 1) for word in value.split())


class ReportInline(ReadOnlyInline):
    model = LifeEventReport
    fields = [
        "tenant",
        "agency_reference",
        "reported_at",
        "first_report",
        "reporter_role",
        "reference",
        "notifier",
    ]
    readonly_fields = ["notifier"]

    def get_queryset(self, request):
        # Hub operators see every agency's report; agency staff their own agencies'
        # (another agency's case reference is that agency's business).
        with all_tenants():
            return _own_agencies(request, LifeEventReport.objects.all())

    @admin.display(description="Notifier (masked)")
    def notifier(self, report):
        # Personal data of someone who is not the constituent: masked, never in full.
        if not report.notifier_name:
            return "—"
        return (
            f"{mask_personal(report.notifier_name)} ({report.notifier_relationship}); "
            f"contact {mask_personal(report.notifier_contact) or 'none given'}"
        )


class NoticeInline(ReadOnlyInline):
    model = LifeEventNotice
    fields = ["tenant", "told_at", "due_on", "answered_at", "reminded_at", "overdue"]
    readonly_fields = ["overdue"]

    def get_queryset(self, request):
        with all_tenants():
            return _own_agencies(request, LifeEventNotice.objects.all())

    @admin.display(boolean=True, description="Overdue")
    def overdue(self, notice):
        return notice.is_overdue(timezone.localdate())


class ResponseInline(ReadOnlyInline):
    model = LifeEventResponse
    fields = ["tenant", "outcome", "text", "automatic", "answered_by", "created_at"]

    def get_queryset(self, request):
        with all_tenants():
            return _own_agencies(request, LifeEventResponse.objects.all())


class OfferInline(ReadOnlyInline):
    model = LifeEventOffer
    fields = ["tenant", "proactive_service", "agency_was_registered", "created_at"]

    def get_queryset(self, request):
        with all_tenants():
            return _own_agencies(request, LifeEventOffer.objects.all())


@admin.register(LifeEvent)
class LifeEventAdmin(RegistryVisibilityMixin, admin.ModelAdmin):
    constituent_path = "constituent__registrations__tenant__in"
    list_display = ["id", "kind", "constituent", "occurred_on", "created_at"]
    list_filter = ["kind"]
    search_fields = ["id", "constituent__id"]
    inlines = [ReportInline, NoticeInline, ResponseInline, OfferInline]
    readonly_fields = [
        "id",
        "constituent",
        "kind",
        "occurred_on",
        "details",
        "created_at",
        "delivered_to",
    ]
    exclude = ["dedupe_key"]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if request.user.is_superuser:
            return fields
        # Every agency's endpoints and delivery status are the operator's view; agency
        # staff find their own deliveries under Events.
        return [name for name in fields if name != "delivered_to"]

    @admin.display(description="Delivered to (webhooks)")
    def delivered_to(self, life_event):
        # Only hub operators see this field (get_readonly_fields): an event's deliveries
        # go to every registered agency's endpoints.
        with all_tenants():
            deliveries = WebhookDelivery.objects.filter(
                event__in=Event.objects.filter(subject_id=life_event.pk)
            ).select_related("tenant", "endpoint")
            rows = [(d.tenant.slug, d.endpoint.url, d.status, d.attempt_count) for d in deliveries]
        if not rows:
            return "no webhook deliveries (yet)"
        return format_html_join("", "<div>{} → {}: {} after {} attempt(s)</div>", rows)


class OverdueFilter(admin.SimpleListFilter):
    title = "answer"
    parameter_name = "answer"

    def lookups(self, request, model_admin):
        return [
            ("overdue", "Overdue"),
            ("waiting", "Waiting, within the service level"),
            ("answered", "Answered"),
        ]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "overdue":
            return queryset.filter(answered_at__isnull=True, due_on__lt=today)
        if self.value() == "waiting":
            return queryset.filter(answered_at__isnull=True, due_on__gte=today)
        if self.value() == "answered":
            return queryset.filter(answered_at__isnull=False)
        return queryset


@admin.register(LifeEventNotice)
class LifeEventNoticeAdmin(TenantScopedAdmin):
    """The operator's view of who was told and who has not answered in time."""

    view_roles = REGISTRY_ROLES
    change_roles = ()
    list_display = [
        "life_event",
        "tenant",
        "told_at",
        "due_on",
        "answered_at",
        "reminded_at",
        "overdue",
    ]
    list_filter = [OverdueFilter, "tenant"]
    search_fields = ["life_event__id"]
    list_select_related = ["tenant", "life_event"]

    @admin.display(boolean=True, description="Overdue")
    def overdue(self, notice):
        return notice.is_overdue(timezone.localdate())

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LifeEventDiscrepancy)
class LifeEventDiscrepancyAdmin(OperatorsOnly, admin.ModelAdmin):
    """A second report that disagreed: hub operators decide which facts are right."""

    list_display = ["id", "life_event", "reported_by", "conflicting", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["id", "life_event__id"]
    readonly_fields = [
        "id",
        "life_event",
        "reported_by",
        "agency_reference",
        "reported_on",
        "reported_details",
        "conflicts",
        "status",
        "created_at",
        "resolved_at",
        "resolved_by",
        "resolution_note",
    ]
    actions = ["keep_recorded", "accept_reported"]

    @admin.display(description="Disagrees on")
    def conflicting(self, discrepancy):
        return ", ".join(
            f"{c['field']}: {c['recorded']} → {c['reported']}" for c in discrepancy.conflicts
        )

    def _resolve(self, request, queryset, *, accept_reported: bool) -> None:
        resolved = 0
        for discrepancy in queryset.order_by("created_at"):
            try:
                services.resolve_discrepancy(
                    discrepancy=discrepancy,
                    accept_reported=accept_reported,
                    resolved_by=f"staff:{request.user.get_username()}",
                    note="resolved in the admin",
                )
                resolved += 1
            except HubError as exc:
                self.message_user(request, f"{discrepancy.pk}: {exc.message}", messages.WARNING)
        if resolved:
            self.message_user(request, f"{resolved} discrepancy(ies) resolved", messages.SUCCESS)

    @admin.action(description="Keep the recorded facts (the second report was wrong)")
    def keep_recorded(self, request, queryset):
        self._resolve(request, queryset, accept_reported=False)

    @admin.action(description="Correct the record to the second report (agencies are told)")
    def accept_reported(self, request, queryset):
        self._resolve(request, queryset, accept_reported=True)

    # Operators only (OperatorsOnly); changed by the actions alone: every field is read-only.
    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ProactiveService)
class ProactiveServiceAdmin(TenantScopedAdmin):
    view_roles = REGISTRY_ROLES
    change_roles = ()
    list_display = ["service", "tenant", "kinds", "link", "active", "created_at"]
    list_filter = ["active", "tenant"]

    @admin.display(description="Life events")
    def kinds(self, declaration):
        return ", ".join(declaration.life_event_kinds)

    def has_add_permission(self, request):
        return False  # declared through the API, which checks the service is proactive


@admin.register(FieldAuthority)
class FieldAuthorityAdmin(OperatorsOnly, admin.ModelAdmin):
    """Which agency is the source of truth for a field is a hub-wide decision: hub
    operators (superusers) make it; agency staff neither see nor change it."""

    list_display = ["field", "tenant"]


class FieldAccessForm(forms.ModelForm):
    visible_fields = forms.MultipleChoiceField(
        choices=FieldAccess.Field.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Name, kind and status (alive, deceased, ceased) are always shown; "
        "fields left unticked are absent from this agency's API answers and webhooks.",
    )

    class Meta:
        model = FieldAccess
        fields = ["tenant", "visible_fields"]


@admin.register(FieldAccess)
class FieldAccessAdmin(OperatorsOnly, admin.ModelAdmin):
    """Which fields of the shared record each agency may see: the operator's decision, per
    agency, as the BRP's authorisation decree is; agency staff neither see nor change it."""

    form = FieldAccessForm
    list_display = ["tenant", "granted_fields", "updated_at"]
    search_fields = ["tenant__name", "tenant__slug"]

    @admin.display(description="Fields it may see")
    def granted_fields(self, access):
        labels = dict(FieldAccess.Field.choices)
        return ", ".join(labels.get(f, f) for f in access.visible_fields) or "name and status only"

    def get_readonly_fields(self, request, obj=None):
        return ["tenant"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)


def _own_agencies(request, queryset):
    """Agency staff see rows of the agencies they hold a registry role in."""
    if request.user.is_superuser:
        return queryset
    return queryset.filter(tenant__in=tenants_for_user(request.user, list(REGISTRY_ROLES)))
