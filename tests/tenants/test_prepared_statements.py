"""The compiled statements run as PostgreSQL prepared statements (one per connection),
and nothing else does: Django's own client-side cursors never prepare."""

from __future__ import annotations

import pytest
from django.db import connection

from hub.models import AuditEntry
from tenants import statements
from tenants.models import ApiKey
from tenants.scope import all_tenants, tenant_scope
from tenants.services.api_keys import _KEY_BY_HASH, hash_secret
from tenants.statements import CompiledInsert
from tests.conftest import client_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def fresh_connection():
    """A new server session: prepared statements belong to one."""
    connection.close()
    yield
    connection.close()


def test_a_compiled_lookup_is_prepared_once_and_still_reads_afresh(tenant, fresh_connection):
    api = client_for(tenant)
    digest = hash_secret(api.secret)
    with all_tenants():
        first = _KEY_BY_HASH.first(secret_hash=digest)
        second = _KEY_BY_HASH.first(secret_hash=digest)
        ApiKey.objects.filter(pk=first.pk).update(name="renamed behind its back")
        third = _KEY_BY_HASH.first(secret_hash=digest)
    lookups = [sql for sql in prepared() if '"tenants_apikey"' in sql]
    assert len(lookups) == 1  # prepared on first use, reused after
    assert first.pk == second.pk == third.pk
    assert third.name == "renamed behind its back"  # the rows are read on every call
    # The ORM's own statements are not prepared.
    assert not [sql for sql in prepared() if "UPDATE" in sql]


def test_the_api_request_prepares_only_compiled_statements(tenant, fresh_connection):
    api = client_for(tenant)
    assert api.get("/api/v1/payments").status_code == 200
    assert all("%s" not in sql for sql in prepared())  # server-bound: $1, $2, ...
    assert any('"tenants_apikey"' in sql for sql in prepared())


def test_without_the_setting_nothing_is_prepared(tenant, fresh_connection, monkeypatch):
    monkeypatch.setattr(statements, "PREPARED", False)
    insert = CompiledInsert(AuditEntry, save_override="the test inserts new entries only")
    with tenant_scope(tenant):
        for n in range(3):
            insert.insert(
                AuditEntry(tenant=tenant, actor_kind="system", action=f"test.{n}", object_type="x")
            )
    assert prepared() == []
    with all_tenants():
        assert AuditEntry.objects.filter(tenant=tenant, action__startswith="test.").count() == 3


def test_the_query_log_still_names_a_prepared_statement(tenant, fresh_connection):
    from django.test.utils import CaptureQueriesContext

    api = client_for(tenant)
    digest = hash_secret(api.secret)
    with all_tenants(), CaptureQueriesContext(connection) as captured:
        for _ in range(3):  # prepared on the first call, run prepared after
            _KEY_BY_HASH.first(secret_hash=digest)
    assert len(captured.captured_queries) == 3
    assert all('"tenants_apikey"' in q["sql"] for q in captured.captured_queries)
