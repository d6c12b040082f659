"""The API for an agency's services (what it charges for; the rows live in tenants).

It sits under hub's API, not in tenants/api/, because an API is built with hub's API
toolkit (errors, filters, permissions, view sets) and tenants, the bottom layer,
imports nothing from hub (see docs/architecture.md, "Layers").
"""
