from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class OperationsConfig(AppConfig):
    default = True
    name = "operations"
    verbose_name = "Operations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from operations import admin_display

        admin_display.install()


class HubAdminConfig(admin_apps.AdminConfig):
    """Django's admin with the hub's site (operations/admin_site.py) as ``admin.site``:
    every app's ``@admin.register`` lands on it unchanged."""

    default = False  # named in INSTALLED_APPS by its path
    default_site = "operations.admin_site.HubAdminSite"
