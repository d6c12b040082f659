"""The admin site operators and agency staff sign in to: named after the hub, with the
dashboard (operations/dashboard.py) as its landing page above the list of models."""

from __future__ import annotations

from django.contrib import admin


class HubAdminSite(admin.AdminSite):
    site_header = "Government shared process hub"
    site_title = "Process hub"
    index_title = "Dashboard"
    index_template = "admin/hub_index.html"

    def index(self, request, extra_context=None):
        from operations import dashboard

        context = {**(extra_context or {}), "dashboard": dashboard.build(request)}
        return super().index(request, extra_context=context)
