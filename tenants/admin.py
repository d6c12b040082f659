from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse

from tenants import services
from tenants.admin_scoping import Role, TenantScopedAdmin
from tenants.models import ApiKey, Service, StaffMembership, Tenant
from tenants.selectors import tenants_for_user


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "status", "default_currency", "default_language", "created_at"]
    list_filter = ["status"]
    search_fields = ["name", "slug"]
    readonly_fields = ["id", "created_at"]
    actions = ["suspend", "reactivate"]

    def get_queryset(self, request):
        return (
            tenants_for_user(request.user)
            if not request.user.is_superuser
            else super().get_queryset(request)
        )

    def has_module_permission(self, request):
        return request.user.is_superuser or tenants_for_user(request.user).exists()

    def has_view_permission(self, request, obj=None):
        if request.user.is_superuser:
            return True
        allowed = tenants_for_user(request.user)
        return allowed.filter(pk=obj.pk).exists() if obj else allowed.exists()

    def has_change_permission(self, request, obj=None):
        if request.user.is_superuser:
            return True
        allowed = tenants_for_user(request.user, [Role.AGENCY_ADMIN])
        return allowed.filter(pk=obj.pk).exists() if obj else allowed.exists()

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return self.readonly_fields
        # Only hub operators suspend agencies or rename them.
        return [*self.readonly_fields, "slug", "status"]

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return False  # agencies are suspended, never deleted: their money records stay

    def get_actions(self, request):
        return super().get_actions(request) if request.user.is_superuser else {}

    @admin.action(description="Suspend: their API keys get 403")
    def suspend(self, request, queryset):
        for tenant in queryset:
            services.set_tenant_status(tenant=tenant, status=Tenant.Status.SUSPENDED)

    @admin.action(description="Reactivate")
    def reactivate(self, request, queryset):
        for tenant in queryset:
            services.set_tenant_status(tenant=tenant, status=Tenant.Status.ACTIVE)


@admin.register(Service)
class ServiceAdmin(TenantScopedAdmin):
    list_display = ["name", "code", "tenant", "interaction_kind", "active"]
    list_filter = ["interaction_kind", "active", "tenant"]
    search_fields = ["name", "code"]
    readonly_fields = ["id", "created_at"]


class ApiKeyCreateForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=ApiKey.Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=list(ApiKey.Scope.values),
    )

    class Meta:
        model = ApiKey
        fields = ["tenant", "name", "scopes"]


@admin.register(ApiKey)
class ApiKeyAdmin(TenantScopedAdmin):
    list_display = [
        "name",
        "prefix",
        "tenant",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    list_filter = ["tenant"]
    search_fields = ["name", "prefix"]
    readonly_fields = [
        "id",
        "prefix",
        "scopes",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
        "replaced_by",
    ]
    exclude = ["secret_hash"]
    actions = ["revoke", "rotate"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyCreateForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["tenant", "name", "scopes"]
        return ["tenant", "name", *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else [*self.readonly_fields, "tenant"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        issued = services.issue_api_key(
            tenant=form.cleaned_data["tenant"],
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
        )
        obj.pk = issued.api_key.pk
        obj._state.adding = False
        request._issued_keys = [issued]

    def response_add(self, request, obj, post_url_continue=None):
        return self._show_secrets(request, request._issued_keys)

    def _show_secrets(self, request, issued_keys):
        # Rendered straight into this response, never into a message or the session:
        # the secret is shown exactly once.
        return TemplateResponse(
            request,
            "admin/tenants/apikey_secret.html",
            {
                **self.admin_site.each_context(request),
                "issued_keys": issued_keys,
                "opts": self.model._meta,
                "title": "Copy the new API key now",
            },
        )

    @admin.action(description="Revoke selected keys now")
    def revoke(self, request, queryset):
        for api_key in queryset:
            services.revoke_api_key(api_key=api_key)
        messages.success(request, f"Revoked {queryset.count()} key(s).")

    @admin.action(description="Rotate: new secret now, old one works 24 hours more")
    def rotate(self, request, queryset):
        issued = []
        for api_key in queryset:
            if api_key.is_usable():
                issued.append(services.rotate_api_key(api_key=api_key))
        if not issued:
            messages.error(request, "Only usable keys can be rotated.")
            return None
        return self._show_secrets(request, issued)


@admin.register(StaffMembership)
class StaffMembershipAdmin(TenantScopedAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role", "tenant"]
    search_fields = ["user__username", "user__email"]
    autocomplete_fields = ["user"]

    def save_model(self, request, obj, form, change):
        # Roles are granted through the service so the guardian permission follows.
        membership = services.grant_role(tenant=obj.tenant, user=obj.user, role=obj.role)
        obj.pk = membership.pk

    def delete_model(self, request, obj):
        services.revoke_role(membership=obj)

    def has_delete_permission(self, request, obj=None):
        return self._has_role(request, self.change_roles, obj)
