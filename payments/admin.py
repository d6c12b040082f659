"""The operator's and agency finance staff's view of payments, refunds and the ledger.

Money records are written only by services: these screens are read-only, except the
re-sync action and the provider accounts an agency admin configures. Credentials are
write-only: the form takes a new value, and never shows the stored one.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Sum
from django.template.response import TemplateResponse
from django.urls import path, reverse

from hub.admin_display import money_column
from hub.errors import InvalidRequest
from hub.money import format_money
from payments import selectors, services
from payments.models import (
    Dispute,
    LedgerAccount,
    LedgerLine,
    LedgerTransaction,
    Payment,
    PaymentEvent,
    PaymentLink,
    ProviderAccount,
    Refund,
    StripeEventReceipt,
)
from payments.providers.base import ProviderError
from payments.providers.registry import registry
from payments.services import stuck_payments
from tenants.admin_scoping import (
    ReadOnlyInline,
    ReadOnlyTenantScopedAdmin,
    Role,
    TenantScopedAdmin,
)
from tenants.models import Language, Service

FINANCE_VIEW_ROLES = (Role.FINANCE, Role.AGENCY_ADMIN, Role.AUDITOR)


class TimelineInline(ReadOnlyInline):
    model = PaymentEvent
    fields = ["occurred_at", "from_state", "to_state", "applied", "source", "detail"]
    verbose_name_plural = "timeline"


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ["id", "amount", "state", "reason", "provider_reference", "created_at"]
    show_change_link = True


class DisputeInline(ReadOnlyInline):
    model = Dispute
    fields = ["id", "amount", "currency", "status", "reason", "evidence_due_by", "created_at"]
    show_change_link = True


@admin.register(Payment)
class PaymentAdmin(ReadOnlyTenantScopedAdmin):
    view_roles = FINANCE_VIEW_ROLES
    list_display = [
        "id",
        "created_at",
        "tenant",
        "service",
        "amount_shown",
        "method",
        "state",
        "provider",
        "reference",
    ]
    list_filter = ["tenant", "state", "provider", "method", "created_at"]
    search_fields = ["id", "reference", "provider_reference", "provider_session_id"]
    date_hierarchy = "created_at"
    list_select_related = ["tenant", "service"]
    exclude = ["hosted_token", "next_url"]  # the page URL is the payer's credential
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    inlines = [TimelineInline, RefundInline, DisputeInline]
    actions = ["resync_with_provider"]
    amount_shown = money_column(label="amount")

    def has_resync_permission(self, request) -> bool:
        return self._has_role(request, (Role.FINANCE, Role.AGENCY_ADMIN))

    @admin.action(
        description="Re-sync with the provider (ask it for the true state)",
        permissions=["resync"],
    )
    def resync_with_provider(self, request, queryset):
        changed = unchanged = failed = 0
        for payment in queryset.select_related("tenant", "provider_account"):
            try:
                if stuck_payments.resync_payment(payment=payment, source="admin_resync"):
                    changed += 1
                else:
                    unchanged += 1
            except ProviderError as exc:
                failed += 1
                self.message_user(request, f"{payment.pk}: {exc}", messages.ERROR)
        self.message_user(
            request,
            f"Re-synced: {changed} changed, {unchanged} already up to date, {failed} failed.",
            messages.SUCCESS if not failed else messages.WARNING,
        )


@admin.register(Refund)
class RefundAdmin(ReadOnlyTenantScopedAdmin):
    view_roles = FINANCE_VIEW_ROLES
    list_display = ["id", "created_at", "tenant", "payment", "amount_shown", "state", "reason"]
    amount_shown = money_column(currency_field="payment.currency", label="amount")
    list_filter = ["tenant", "state", "created_at"]
    search_fields = ["id", "payment__id", "provider_reference", "payment__reference"]
    date_hierarchy = "created_at"
    list_select_related = ["tenant", "payment"]


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyTenantScopedAdmin):
    view_roles = FINANCE_VIEW_ROLES
    list_display = [
        "id",
        "created_at",
        "tenant",
        "payment",
        "amount_shown",
        "status",
        "reason",
        "evidence_due_by",
    ]
    list_filter = ["tenant", "status", "reason", "created_at"]
    amount_shown = money_column(label="amount")
    search_fields = ["id", "payment__id", "provider_reference", "payment__reference"]
    date_hierarchy = "created_at"
    list_select_related = ["tenant", "payment"]


class LedgerLineInline(ReadOnlyInline):
    model = LedgerLine
    fields = ["account", "currency", "debit", "credit"]


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyTenantScopedAdmin):
    view_roles = FINANCE_VIEW_ROLES
    list_display = ["posted_at", "tenant", "kind", "reference", "currency", "total"]
    list_filter = ["tenant", "currency", "kind", "posted_at"]
    search_fields = ["id", "reference", "idempotency_key"]
    date_hierarchy = "posted_at"
    list_select_related = ["tenant"]
    inlines = [LedgerLineInline]
    change_list_template = "admin/payments/ledgertransaction/change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(debits=Sum("lines__debit"))

    @admin.display(description="amount", ordering="debits")
    def total(self, obj: LedgerTransaction) -> str:
        return format_money(obj.debits or 0, obj.currency)

    def get_urls(self):
        balances = self.admin_site.admin_view(self.balances_view)
        return [
            path("balances/", balances, name="payments_ledger_balances"),
            *super().get_urls(),
        ]

    def balances_view(self, request):
        """Balances per agency and currency, for the agencies the user may see."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        tenants = self._allowed_tenants(request, self.view_roles).order_by("name")
        rows = []
        for tenant in tenants:
            for currency in selectors.ledger_currencies(tenant=tenant):
                rows.append(
                    {
                        "tenant": tenant,
                        "currency": currency,
                        "balances": selectors.ledger_balances(tenant=tenant, currency=currency),
                        "balanced": selectors.ledger_is_balanced(tenant=tenant),
                    }
                )
        context = {
            **self.admin_site.each_context(request),
            "title": "Ledger balances by agency",
            "rows": rows,
            "accounts": LedgerAccount.values,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/payments/ledger_balances.html", context)


class ProviderAccountForm(forms.ModelForm):
    provider = forms.ChoiceField(choices=())
    new_secret_key = forms.CharField(
        required=False,
        label="Secret key",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Stripe secret or restricted key (sk_… / rk_…). Leave empty to keep the "
        "stored one; it is never shown again.",
    )
    new_webhook_secret = forms.CharField(
        required=False,
        label="Webhook signing secret",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="whsec_… of the Stripe endpoint below. Leave empty to keep the stored one.",
    )

    class Meta:
        model = ProviderAccount
        fields = ["tenant", "provider", "service", "publishable_key", "active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].choices = registry.choices()

    def clean(self):
        cleaned = super().clean()
        tenant, service = cleaned.get("tenant"), cleaned.get("service")
        if tenant and service and service.tenant_id != tenant.pk:
            self.add_error("service", "This service belongs to another agency")
        for field, prefixes in (
            ("new_secret_key", ("sk_", "rk_")),
            ("new_webhook_secret", ("whsec_",)),
        ):
            value = (cleaned.get(field) or "").strip()
            if value and not value.startswith(prefixes):
                self.add_error(field, f"Expected a value starting with {' or '.join(prefixes)}")
        return cleaned


@admin.register(ProviderAccount)
class ProviderAccountAdmin(TenantScopedAdmin):
    form = ProviderAccountForm
    change_roles = (Role.AGENCY_ADMIN,)
    view_roles = (Role.AGENCY_ADMIN, Role.FINANCE)
    list_display = ["tenant", "provider", "service", "active", "has_secret_key", "created_at"]
    list_filter = ["tenant", "provider", "active"]
    readonly_fields = ["has_secret_key", "has_webhook_secret", "stripe_webhook_url"]
    fields = [
        "tenant",
        "provider",
        "service",
        "publishable_key",
        "active",
        "new_secret_key",
        "new_webhook_secret",
        "has_secret_key",
        "has_webhook_secret",
        "stripe_webhook_url",
    ]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "service" and not request.user.is_superuser:
            # Only the services of agencies this user administers, never another's.
            kwargs["queryset"] = Service.objects.filter(
                tenant__in=self._allowed_tenants(request, self.change_roles)
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(boolean=True, description="secret key stored")
    def has_secret_key(self, obj: ProviderAccount) -> bool:
        return bool(obj.pk and obj.secret_key)

    @admin.display(boolean=True, description="webhook secret stored")
    def has_webhook_secret(self, obj: ProviderAccount) -> bool:
        return bool(obj.pk and obj.webhook_secret)

    @admin.display(description="Stripe webhook endpoint URL")
    def stripe_webhook_url(self, obj: ProviderAccount) -> str:
        if not obj.pk:
            return "Shown after saving"
        return settings.HUB_PUBLIC_URL + reverse("payments-stripe-webhook", args=[obj.tenant.slug])

    def save_model(self, request, obj, form, change):
        services.set_provider_credentials(
            account=obj,
            secret_key=form.cleaned_data.get("new_secret_key") or None,
            webhook_secret=form.cleaned_data.get("new_webhook_secret") or None,
        )


class PaymentLinkForm(forms.ModelForm):
    languages = forms.MultipleChoiceField(
        choices=Language.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The page is offered in these; none ticked: in every language. The "
        "texts above are in the first ticked language; give the others under translations.",
    )

    class Meta:
        model = PaymentLink
        fields = [
            "tenant",
            "service",
            "slug",
            "title",
            "description",
            "currency",
            "amount",
            "min_amount",
            "max_amount",
            "reference_label",
            "reference_hint",
            "reference_pattern",
            "languages",
            "translations",
            "active",
            "expires_at",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:  # the id exists before saving: ask the state
            # A shared address keeps meaning the same thing: none of these changes.
            for name in ("tenant", "slug", "currency"):
                self.fields[name].disabled = True
        else:
            self.fields["slug"].required = False
            self.fields["slug"].help_text = "Leave empty for an unguessable one"
            self.fields["currency"].required = False
            self.fields["currency"].help_text = "Leave empty for the agency's currency"

    def _post_clean(self):
        super()._post_clean()
        link = self.instance
        if not link.tenant_id or not link.service_id:
            return
        link.slug = link.slug or "to-be-made"  # the service makes one on saving
        link.currency = (link.currency or link.tenant.default_currency).upper()
        # The service's rules, so the admin and the API refuse the same links.
        try:
            services.validate_payment_link(link)
        except InvalidRequest as exc:
            field = exc.field if exc.field in self.fields else None
            self.add_error(field, exc.message)


@admin.register(PaymentLink)
class PaymentLinkAdmin(TenantScopedAdmin):
    """Agency admins create and change payment links; finance staff see them."""

    form = PaymentLinkForm
    change_roles = (Role.AGENCY_ADMIN,)
    view_roles = FINANCE_VIEW_ROLES
    list_display = ["title", "tenant", "service", "amount_asked", "active", "expires_at", "page"]
    list_filter = ["tenant", "active"]
    search_fields = ["id", "slug", "title"]
    list_select_related = ["tenant", "service"]
    readonly_fields = ["id", "page", "created_at", "updated_at"]
    actions = ["disable_links"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "service" and not request.user.is_superuser:
            kwargs["queryset"] = Service.objects.filter(
                tenant__in=self._allowed_tenants(request, self.change_roles)
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="amount")
    def amount_asked(self, link: PaymentLink) -> str:
        if link.fixed_amount:
            return format_money(link.amount, link.currency)
        minimum = format_money(link.min_amount, link.currency)
        maximum = format_money(link.max_amount, link.currency)
        return f"{minimum} to {maximum} (citizen enters)"

    @admin.display(description="public page")
    def page(self, link: PaymentLink) -> str:
        # The id is made before saving, so only the saved state says the link exists.
        if link._state.adding or not link.slug:
            return "Shown after saving"
        return settings.HUB_PUBLIC_URL + reverse("payments-link-page", args=[link.slug])

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            changes = {
                name: data[name]
                for name in form.changed_data
                if name in services.PAYMENT_LINK_EDITABLE_FIELDS
            }
            saved = services.update_payment_link(link=obj, changes=changes)
        else:
            saved = services.create_payment_link(
                tenant=data["tenant"],
                service=data["service"],
                slug=data.get("slug") or None,
                title=data["title"],
                description=data.get("description", ""),
                currency=data.get("currency") or None,
                amount=data.get("amount"),
                min_amount=data.get("min_amount"),
                max_amount=data.get("max_amount"),
                reference_label=data["reference_label"],
                reference_hint=data.get("reference_hint", ""),
                reference_pattern=data.get("reference_pattern", ""),
                languages=list(data.get("languages") or []),
                translations=data.get("translations") or {},
                expires_at=data.get("expires_at"),
            )
            if not data.get("active", True):
                saved = services.disable_payment_link(link=saved)
        obj.pk = saved.pk
        obj.slug = saved.slug

    @admin.action(description="Disable the selected links", permissions=["change"])
    def disable_links(self, request, queryset):
        disabled = 0
        for link in queryset.select_related("tenant").filter(active=True):
            services.disable_payment_link(link=link)
            disabled += 1
        self.message_user(request, f"Disabled {disabled} payment links.", messages.SUCCESS)


@admin.register(StripeEventReceipt)
class StripeEventReceiptAdmin(ReadOnlyTenantScopedAdmin):
    view_roles = (Role.AGENCY_ADMIN, Role.FINANCE)
    list_display = ["received_at", "tenant", "type", "stripe_event_id"]
    list_filter = ["tenant", "type"]
    search_fields = ["stripe_event_id"]
