"""The operator's and the finance user's view of reconciliation.

Finance users (and agency admins) of an agency upload its statements, start runs,
edit its tolerances and resolve its exceptions; auditors read. Hub superusers do all of
it for every agency. Every write goes through reconciliation.services.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from hub.admin_display import money_column
from hub.errors import HubError
from reconciliation import services
from reconciliation.models import (
    BankStatement,
    Match,
    MatchItem,
    MatchLine,
    ReconciliationException,
    ReconciliationRun,
    ReconciliationSettings,
    StatementImport,
    StatementLine,
    StatementLineDetail,
)
from tenants.admin_scoping import (
    ReadOnlyInline,
    ReadOnlyTenantScopedAdmin,
    Role,
    TenantScopedAdmin,
)
from tenants.scope import tenant_scope
from tenants.selectors import tenants_for_user, user_has_role

READ_ROLES = (Role.FINANCE, Role.AGENCY_ADMIN, Role.AUDITOR)
WRITE_ROLES = (Role.FINANCE, Role.AGENCY_ADMIN)


def _actor(request) -> str:
    return f"admin:{request.user.get_username()}"


class AgencyChoiceForm(forms.Form):
    tenant = forms.ModelChoiceField(queryset=None, label="Agency")

    def __init__(self, *args, tenants=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tenant"].queryset = tenants


class StatementUploadForm(AgencyChoiceForm):
    file = forms.FileField(help_text="camt.053 or MT940; the format is read from the content")


class RunForm(AgencyChoiceForm):
    period_start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    period_end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))


class ResolveForm(forms.Form):
    resolution = forms.ChoiceField(choices=ReconciliationException.Resolution.choices)
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    matched_with = forms.CharField(
        required=False,
        help_text="For 'matched by hand': statement lines (stl_…) or items (pay_…, ref_…, "
        "stm_…), separated by spaces",
    )


@admin.register(ReconciliationSettings)
class ReconciliationSettingsAdmin(TenantScopedAdmin):
    view_roles = READ_ROLES
    change_roles = WRITE_ROLES
    list_display = [
        "tenant",
        "date_window_days",
        "amount_tolerance",
        "lookback_days",
        "daily_run_enabled",
        "updated_at",
    ]
    readonly_fields = ["updated_at"]

    def save_model(self, request, obj, form, change):
        obj.updated_at = timezone.now()
        with tenant_scope(obj.tenant):
            super().save_model(request, obj, form, change)


class BankStatementInline(ReadOnlyInline):
    model = BankStatement
    fields = [
        "id",
        "channel",
        "statement_id",
        "account",
        "currency",
        "sequence_number",
        "opening_balance",
        "closing_balance",
        "closing_date",
        "line_count",
    ]
    show_change_link = True


@admin.register(StatementImport)
class StatementImportAdmin(ReadOnlyTenantScopedAdmin):
    view_roles = READ_ROLES
    list_display = [
        "id",
        "tenant",
        "source",
        "format",
        "file_name",
        "line_count",
        "warning_count",
        "created_at",
    ]
    list_filter = ["source", "format", "tenant"]
    search_fields = ["id", "file_name", "content_sha256"]
    inlines = [BankStatementInline]
    change_list_template = "admin/reconciliation/statementimport/change_list.html"

    @admin.display(description="warnings")
    def warning_count(self, obj: StatementImport) -> int:
        # What was imported unchecked (no opening balance, entries outside the closing
        # balance): the operator should look at these imports.
        return len(obj.warnings or [])

    def get_urls(self):
        upload = path(
            "upload/",
            self.admin_site.admin_view(self.upload_view),
            name="reconciliation_statementimport_upload",
        )
        return [upload, *super().get_urls()]

    def upload_view(self, request):
        tenants = tenants_for_user(request.user, list(WRITE_ROLES))
        if not tenants.exists():
            raise PermissionDenied("Only finance users and agency admins upload statements")
        form = StatementUploadForm(request.POST or None, request.FILES or None, tenants=tenants)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                result = services.import_statement_file(
                    tenant=form.cleaned_data["tenant"],
                    file=upload.file,
                    file_name=upload.name or "",
                    imported_by=_actor(request),
                )
            except services.StatementRejected as rejected:
                form.add_error("file", rejected.message)
            except HubError as error:
                form.add_error("file", error.message)
            else:
                imported = result.statement_import
                if result.created:
                    self.log_addition(request, imported, f"Uploaded {imported.file_name}")
                    messages.success(request, f"Imported {imported.line_count} lines.")
                    for warning in imported.warnings:
                        messages.warning(request, warning)
                else:
                    messages.info(request, "This exact file was imported before: nothing changed.")
                return redirect("admin:reconciliation_statementimport_change", quote(imported.pk))
        context = {
            **self.admin_site.each_context(request),
            "title": "Upload a bank statement",
            "form": form,
            "opts": self.model._meta,
            "multipart": True,
        }
        return TemplateResponse(request, "admin/reconciliation/form.html", context)


class DetailInline(ReadOnlyInline):
    model = StatementLineDetail
    fields = [
        "end_to_end_id",
        "creditor_reference",
        "remittance_text",
        "amount",
        "counterparty_name",
        "return_reason_code",
    ]


@admin.register(StatementLine)
class StatementLineAdmin(ReadOnlyTenantScopedAdmin):
    view_roles = READ_ROLES
    list_display = [
        "id",
        "tenant",
        "booking_date",
        "amount_shown",
        "channel",
        "counterparty_name",
        "entry_reference",
    ]
    list_filter = ["channel", "currency", "tenant"]
    search_fields = ["id", "entry_reference", "counterparty_name", "batch_reference"]
    date_hierarchy = "booking_date"
    inlines = [DetailInline]
    list_select_related = ["tenant"]
    amount_shown = money_column(label="amount")


class MatchLineInline(ReadOnlyInline):
    model = MatchLine
    fields = ["line"]


class MatchItemInline(ReadOnlyInline):
    model = MatchItem
    fields = ["kind", "object_id", "amount"]


@admin.register(Match)
class MatchAdmin(ReadOnlyTenantScopedAdmin):
    view_roles = READ_ROLES
    list_display = ["id", "tenant", "method", "reported_shown", "expected_shown"]
    reported_shown = money_column("reported_amount", label="reported")
    expected_shown = money_column("expected_amount", label="expected")
    list_filter = ["method", "tenant"]
    search_fields = ["id", "items__object_id", "lines__line__id"]
    inlines = [MatchLineInline, MatchItemInline]


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(ReadOnlyTenantScopedAdmin):
    view_roles = READ_ROLES
    list_display = [
        "id",
        "tenant",
        "period_start",
        "period_end",
        "trigger",
        "matched_count",
        "unmatched_expected_count",
        "unmatched_reported_count",
        "exception_count",
        "report",
    ]
    list_filter = ["trigger", "tenant"]
    readonly_fields = ["report"]
    date_hierarchy = "period_start"
    change_list_template = "admin/reconciliation/reconciliationrun/change_list.html"

    @admin.display(description="Report")
    def report(self, run):
        return format_html(
            '<a href="{}">report</a>', reverse("reconciliation-run-report", args=[run.pk])
        )

    def get_urls(self):
        start = path(
            "start/",
            self.admin_site.admin_view(self.start_view),
            name="reconciliation_reconciliationrun_start",
        )
        return [start, *super().get_urls()]

    def start_view(self, request):
        tenants = tenants_for_user(request.user, list(WRITE_ROLES))
        if not tenants.exists():
            raise PermissionDenied("Only finance users and agency admins start runs")
        form = RunForm(request.POST or None, tenants=tenants)
        if request.method == "POST" and form.is_valid():
            try:
                run = services.start_run(
                    tenant=form.cleaned_data["tenant"],
                    period_start=form.cleaned_data["period_start"],
                    period_end=form.cleaned_data["period_end"],
                    trigger=ReconciliationRun.Trigger.ADMIN,
                    requested_by=_actor(request),
                )
            except HubError as error:
                form.add_error(None, error.message)
            else:
                self.log_addition(request, run, "Started a reconciliation run")
                return redirect("reconciliation-run-report", run.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": "Reconcile a period",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/reconciliation/form.html", context)


@admin.register(ReconciliationException)
class ReconciliationExceptionAdmin(ReadOnlyTenantScopedAdmin):
    view_roles = READ_ROLES
    list_display = [
        "id",
        "tenant",
        "kind",
        "state",
        "occurred_on",
        "expected_shown",
        "reported_shown",
        "reason",
    ]
    expected_shown = money_column("expected_amount", label="expected")
    reported_shown = money_column("reported_amount", label="reported")
    list_filter = ["state", "kind", "currency", "tenant"]
    search_fields = ["id", "item_id", "line__id", "reason"]
    actions = ["resolve"]

    def has_resolve_permission(self, request):
        return tenants_for_user(request.user, list(WRITE_ROLES)).exists()

    @admin.action(
        description="Resolve (matched by hand, written off, refunded)",
        permissions=["resolve"],
    )
    def resolve(self, request, queryset):
        form = ResolveForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            data = form.cleaned_data
            for exception in queryset.select_related("tenant"):
                if not user_has_role(request.user, exception.tenant, list(WRITE_ROLES)):
                    messages.error(request, f"{exception.pk}: not your agency's exception")
                    continue
                try:
                    services.resolve_exception(
                        exception=exception,
                        resolution=data["resolution"],
                        note=data["note"],
                        matched_with=data["matched_with"].split(),
                        resolved_by=_actor(request),
                    )
                except HubError as error:
                    messages.error(request, f"{exception.pk}: {error.message}")
                else:
                    self.log_change(request, exception, f"Resolved: {data['resolution']}")
                    messages.success(request, f"{exception.pk} resolved")
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Resolve reconciliation exceptions",
            "form": form,
            "exceptions": queryset,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/reconciliation/resolve.html", context)
