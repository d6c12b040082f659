"""The non-API views of reconciliation: the finance report pages (HTML, CSV, XLSX).

hub/urls.py includes ``reconciliation.web.urls`` by string; the API is in api/."""
