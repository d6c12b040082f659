"""The batch paths' tables keep their equality indexes but not Django's
``varchar_pattern_ops`` copies (hub/pattern_indexes.py), and migrating back
recreates the copies exactly as Django names them. PostgreSQL only."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

HOT_TABLES = {
    "payments": ("Payment", "PaymentEvent", "LedgerTransaction", "LedgerLine"),
    "collection": ("Instalment", "CollectionAttempt", "Mandate"),
    "hub": (
        "Event",
        "SubscriberReceipt",
        "WebhookDelivery",
        "WebhookAttempt",
        "AuditEntry",
        "IdempotencyRecord",
    ),
    "reconciliation": (
        "StatementLine",
        "StatementLineDetail",
        "Match",
        "MatchLine",
        "MatchItem",
        "RunItem",
    ),
}


def _indexes(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [table])
        return {name for (name,) in cursor.fetchall()}


def _tables(app_label: str) -> list[str]:
    return [apps.get_model(app_label, name)._meta.db_table for name in HOT_TABLES[app_label]]


def test_hot_tables_have_no_pattern_index_but_keep_their_equality_indexes():
    for app_label in HOT_TABLES:
        for table in _tables(app_label):
            names = _indexes(table)
            assert not [name for name in names if name.endswith("_like")], table
            assert any(name.endswith("_pkey") for name in names), table
    # The tenant foreign key's equality index is one of those kept.
    payment_indexes = _indexes(apps.get_model("payments", "Payment")._meta.db_table)
    assert any(name.startswith("payments_payment_tenant_id_") for name in payment_indexes)


def test_migrating_back_recreates_the_pattern_indexes():
    executor = MigrationExecutor(connection)
    target = [("collection", "0007_advance_notices")]
    latest = executor.loader.graph.leaf_nodes("collection")
    instalments = apps.get_model("collection", "Instalment")._meta.db_table
    try:
        executor.migrate(target)
        recreated = {name for name in _indexes(instalments) if name.endswith("_like")}
        # id, tenant, debt, plan and mandate: the five indexed character columns.
        assert len(recreated) == 5, recreated
    finally:
        MigrationExecutor(connection).migrate(latest)
    assert not [name for name in _indexes(instalments) if name.endswith("_like")]
