"""The finance report pages (session login, from the admin); the API is in api/urls.py.

Included by string from hub/urls.py (``include("reconciliation.web.urls")``)."""

from django.urls import path

from reconciliation.web import views

urlpatterns = [
    path("runs/", views.run_list, name="reconciliation-runs"),
    path("runs/<str:run_id>/", views.run_report, name="reconciliation-run-report"),
    path("runs/<str:run_id>/report.csv", views.run_report_csv, name="reconciliation-run-csv"),
    path("runs/<str:run_id>/report.xlsx", views.run_report_xlsx, name="reconciliation-run-xlsx"),
]
