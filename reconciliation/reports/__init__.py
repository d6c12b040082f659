"""Finance reports of a reconciliation run: CSV, XLSX and an HTML page with a chart."""
