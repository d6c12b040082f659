"""The operator's and collections team's view: debts, plans, mandates, runs, returns, dunning.

Everything that moves money or a debt's state goes through the services, so these screens
are read-only except the agency's collection settings (creditor details, retry policy,
dunning ladder, pausing runs) and two actions: writing a debt off, and starting a run.
Account numbers are never shown, only their masked form.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from collection.models import (
    CollectionAttempt,
    CollectionRun,
    CollectionSettings,
    Debt,
    DunningNotice,
    Instalment,
    Mandate,
    PaymentPlan,
    ReturnedAttempt,
    ReturnFile,
    ReturnFileEntry,
)
from collection.services import runs, write_offs
from hub.admin_display import money_column
from hub.errors import HubError
from tenants.admin_scoping import (
    ReadOnlyInline,
    ReadOnlyTenantScopedAdmin,
    Role,
    TenantScopedAdmin,
)
from tenants.scope import tenant_scope
from tenants.selectors import user_has_role

COLLECTIONS_VIEW_ROLES = (Role.CASEWORKER, Role.FINANCE, Role.AGENCY_ADMIN, Role.AUDITOR)
WRITE_OFF_ROLES = (Role.AGENCY_ADMIN, Role.FINANCE)


class CollectionsReadOnlyAdmin(ReadOnlyTenantScopedAdmin):
    view_roles = COLLECTIONS_VIEW_ROLES


@admin.register(CollectionSettings)
class CollectionSettingsAdmin(TenantScopedAdmin):
    view_roles = (Role.AGENCY_ADMIN, Role.FINANCE, Role.AUDITOR)
    change_roles = (Role.AGENCY_ADMIN,)
    list_display = [
        "tenant",
        "provider",
        "creditor_id",
        "pain008_version",
        "runs_paused",
        "updated_at",
    ]
    list_filter = ["provider", "runs_paused"]
    actions = ["pause_runs", "resume_runs", "start_run_today"]
    fieldsets = [
        (None, {"fields": ["tenant", "provider"]}),
        (
            "SEPA creditor",
            {
                "fields": [
                    "creditor_name",
                    "creditor_iban",
                    "creditor_bic",
                    "creditor_id",
                    "pain008_version",
                ]
            },
        ),
        ("Bacs", {"fields": ["bacs_service_user_number"]}),
        (
            "Runs",
            {
                "fields": [
                    "runs_paused",
                    "paused_reason",
                    "submission_buffer_days",
                    "chunk_size",
                ]
            },
        ),
        (
            "Retries and dunning",
            {"fields": ["retry_max_attempts", "retry_delays", "dunning_ladder"]},
        ),
        (
            "Advance notices",
            {
                "fields": [
                    "advance_notices_by_hub",
                    "sepa_advance_notice_days",
                    "bacs_advance_notice_days",
                ]
            },
        ),
    ]

    def save_model(self, request, obj, form, change):
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)

    def _set_paused(self, request, queryset, paused: bool) -> None:
        for settings in queryset:
            if not self.has_change_permission(request, settings):
                raise PermissionDenied
            settings.runs_paused = paused
            settings.paused_reason = f"paused by {request.user.username}" if paused else ""
            settings.updated_at = timezone.now()
            settings.save(update_fields=["runs_paused", "paused_reason", "updated_at"])
            self.log_change(request, settings, "Runs paused" if paused else "Runs resumed")
        messages.success(
            request, f"{queryset.count()} agency(ies) {'paused' if paused else 'resumed'}."
        )

    @admin.action(description="Pause collection runs")
    def pause_runs(self, request, queryset):
        self._set_paused(request, queryset, True)

    @admin.action(description="Resume collection runs")
    def resume_runs(self, request, queryset):
        self._set_paused(request, queryset, False)

    @admin.action(description="Start a collection run for today")
    def start_run_today(self, request, queryset):
        for settings in queryset:
            if not self.has_change_permission(request, settings):
                raise PermissionDenied
            with tenant_scope(settings.tenant):
                try:
                    run = runs.start_run(
                        tenant=settings.tenant,
                        run_date=timezone.localdate(),
                        trigger=CollectionRun.Trigger.ADMIN,
                    )
                except HubError as exc:
                    messages.error(request, f"{settings.tenant}: {exc.message}")
                    continue
            messages.success(
                request, f"{settings.tenant}: run {run.pk} selected {run.selected_count}."
            )


class PlanInline(ReadOnlyInline):
    model = PaymentPlan
    fk_name = "debt"
    fields = ["id", "mandate", "total", "state", "created_at", "ended_at"]
    show_change_link = True


class DunningInline(ReadOnlyInline):
    model = DunningNotice
    fields = ["step", "arrears_since", "days_in_arrears", "balance", "fired_on"]


class WriteOffForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


@admin.register(Debt)
class DebtAdmin(CollectionsReadOnlyAdmin):
    list_display = [
        "reference",
        "tenant",
        "constituent",
        "amount_shown",
        "balance_shown",
        "state",
        "dunning_step",
        "due_date",
    ]
    list_filter = ["state", "dunning_step", "tenant"]
    search_fields = ["id", "reference", "constituent__id"]
    list_select_related = ["tenant", "constituent"]
    inlines = [PlanInline, DunningInline]
    amount_shown = money_column(label="amount")
    balance_shown = money_column("balance", label="balance")
    actions = ["write_off"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not self._has_role(request, WRITE_OFF_ROLES):
            actions.pop("write_off", None)
        return actions

    @admin.action(description="Write off (with a reason)")
    def write_off(self, request, queryset):
        for debt in queryset:
            if not user_has_role(request.user, debt.tenant, list(WRITE_OFF_ROLES)):
                raise PermissionDenied
        form = WriteOffForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            done = 0
            for debt in queryset:
                with tenant_scope(debt.tenant):
                    try:
                        write_offs.write_off_debt(
                            debt=debt,
                            reason=form.cleaned_data["reason"],
                            actor=f"staff:{request.user.username}",
                        )
                    except HubError as exc:
                        messages.error(request, f"{debt.reference}: {exc.message}")
                        continue
                self.log_change(request, debt, f"Written off: {form.cleaned_data['reason']}")
                done += 1
            if done:
                messages.success(request, f"{done} debt(s) written off.")
            return None
        return TemplateResponse(
            request,
            "admin/collection/debt/write_off.html",
            {
                **self.admin_site.each_context(request),
                "title": "Write off debts",
                "debts": queryset,
                "form": form,
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )


class InstalmentInline(ReadOnlyInline):
    model = Instalment
    fields = [
        "sequence",
        "due_date",
        "amount",
        "state",
        "collect_on",
        "submit_on",
        "attempt_count",
        "last_failure_code",
    ]
    ordering = ["sequence"]
    show_change_link = True


@admin.register(PaymentPlan)
class PaymentPlanAdmin(CollectionsReadOnlyAdmin):
    list_display = ["id", "tenant", "debt", "mandate", "total_shown", "state", "created_at"]
    total_shown = money_column("total", label="total")
    list_filter = ["state", "frequency", "tenant"]
    search_fields = ["id", "debt__reference", "debt__id"]
    inlines = [InstalmentInline]


class AttemptInline(ReadOnlyInline):
    model = CollectionAttempt
    fk_name = "instalment"
    fields = [
        "number",
        "run",
        "payment",
        "collection_date",
        "sequence_type",
        "state",
        "failure_code",
        "failure_action",
    ]
    show_change_link = True


@admin.register(Instalment)
class InstalmentAdmin(CollectionsReadOnlyAdmin):
    list_display = [
        "id",
        "tenant",
        "debt",
        "sequence",
        "due_date",
        "amount_shown",
        "state",
        "advance_notice_sent_on",
    ]
    amount_shown = money_column(label="amount")
    list_filter = ["state", "scheme", "tenant"]
    search_fields = ["id", "debt__reference", "plan__id"]
    inlines = [AttemptInline]


@admin.register(Mandate)
class MandateAdmin(CollectionsReadOnlyAdmin):
    list_display = ["reference", "tenant", "scheme", "account_masked", "state", "signed_on"]
    list_filter = ["scheme", "state", "tenant"]
    search_fields = ["id", "reference", "constituent__id"]
    # The encrypted account numbers are never shown, not even to superusers.
    exclude = ["iban", "account_number"]


@admin.register(CollectionRun)
class CollectionRunAdmin(CollectionsReadOnlyAdmin):
    list_display = [
        "id",
        "tenant",
        "run_date",
        "trigger",
        "state",
        "selected_count",
        "submitted_count",
        "declined_count",
        "totals",
        "file_link",
    ]
    list_filter = ["state", "provider", "trigger", "tenant"]
    search_fields = ["id", "file_message_id"]
    date_hierarchy = "run_date"
    exclude = ["file"]
    readonly_fields = ["file_link"]

    def get_urls(self):
        download = self.admin_site.admin_view(self.download_file)
        return [
            path("<str:object_id>/file/", download, name="collection_collectionrun_file"),
            *super().get_urls(),
        ]

    @admin.display(description="Bank file")
    def file_link(self, run):
        if not run.file:
            return "—"
        url = reverse("admin:collection_collectionrun_file", args=[run.pk])
        return format_html('<a href="{}">pain.008 ({})</a>', url, run.file_message_id)

    def download_file(self, request, object_id):
        run = self.get_queryset(request).filter(pk=object_id).first()
        if run is None or not run.file or not self.has_view_permission(request, run):
            raise Http404("No such bank file")
        return FileResponse(
            run.file.open("rb"),
            content_type="application/xml",
            as_attachment=True,
            filename=f"{run.pk}-pain.008.001.02.xml",
        )


class ReturnEntryInline(ReadOnlyInline):
    model = ReturnFileEntry
    fields = ["position", "end_to_end_id", "attempt", "reason_code", "action"]


@admin.register(ReturnFile)
class ReturnFileAdmin(CollectionsReadOnlyAdmin):
    list_display = ["filename", "format", "tenant", "message_id", "entry_count", "created_at"]
    list_filter = ["format", "tenant"]
    search_fields = ["id", "message_id", "original_message_id", "filename"]
    inlines = [ReturnEntryInline]


@admin.register(ReturnedAttempt)
class ReturnedAttemptAdmin(CollectionsReadOnlyAdmin):
    """Every rejected or returned collection, with its reason code and the rule applied."""

    list_display = [
        "end_to_end_id",
        "tenant",
        "instalment",
        "amount_shown",
        "failure_code",
        "failure_action",
        "returned",
        "failed_at",
    ]
    list_filter = ["failure_code", "failure_action", "returned", "tenant"]
    amount_shown = money_column(label="amount")
    search_fields = ["id", "end_to_end_id", "instalment__id", "payment__id"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(state=CollectionAttempt.State.FAILED)


@admin.register(DunningNotice)
class DunningNoticeAdmin(CollectionsReadOnlyAdmin):
    list_display = ["debt", "tenant", "step", "days_in_arrears", "balance_shown", "fired_on"]
    balance_shown = money_column("balance", "debt.currency", label="balance")
    list_select_related = ["debt", "tenant"]
    list_filter = ["step", "tenant"]
    search_fields = ["debt__reference", "debt__id"]
