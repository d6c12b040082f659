"""tenants/statements.py: a statement compiled once returns what the ORM would, reads its
rows afresh on every call (a revoked key fails on the very next request), and keeps
the tenant scope explicit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hub.models import AuditEntry, IdempotencyRecord
from payments.models import ProviderAccount
from payments.selectors import _ACCOUNTS_FOR_SERVICE, provider_account_for
from tenants import services
from tenants.models import ApiKey, Service
from tenants.scope import ScopeError, ScopeSwitchError, all_tenants, tenant_scope
from tenants.services.api_keys import _KEY_BY_HASH, find_api_key, hash_secret
from tenants.statements import CompiledInsert, CompiledQuery, StatementError
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def field_values(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def orm_sql(queryset) -> tuple[str, tuple]:
    return queryset.query.get_compiler(using=queryset.db).as_sql()


@pytest.fixture
def keys(make_tenant):
    """Keys of two agencies: live, revoked, expired, rotated."""
    first, second = make_tenant(), make_tenant()
    issued = [services.issue_api_key(tenant=t, name=f"k{i}") for i, t in enumerate([first] * 3)]
    issued.append(services.issue_api_key(tenant=second, name="other", scopes=["payments:read"]))
    services.revoke_api_key(api_key=issued[1].api_key)
    with all_tenants():
        ApiKey.objects.filter(pk=issued[2].api_key.pk).update(
            expires_at=timezone.now() - timedelta(minutes=1)
        )
    return issued


# ------------------------------------------------------------------- the API-key lookup


def test_the_compiled_key_lookup_returns_what_the_orm_returns(keys):
    for issued in keys:
        digest = hash_secret(issued.secret)
        with all_tenants():
            (expected,) = ApiKey.objects.select_related("tenant").filter(secret_hash=digest)
            compiled = _KEY_BY_HASH.first(secret_hash=digest)
        assert type(compiled) is ApiKey
        assert field_values(compiled) == field_values(expected)
        assert compiled.scopes == expected.scopes and isinstance(compiled.scopes, list)
        # select_related: the tenant came with the key, no second query.
        with CaptureQueriesContext(connection) as queries:
            assert field_values(compiled.tenant) == field_values(expected.tenant)
        assert len(queries) == 0
        assert compiled._state.db == "default" and not compiled._state.adding
        assert compiled.is_usable() == expected.is_usable()


def test_the_compiled_sql_is_the_orms_own(keys):
    digest = hash_secret(keys[0].secret)
    compiled = _KEY_BY_HASH
    with all_tenants():
        compiled.first(secret_hash=digest)
    plan = compiled._plans["default"]
    sql, params = orm_sql(compiled.queryset(secret_hash=digest))
    bound = [
        digest if slot else constant
        for slot, constant in zip(plan.slots, plan.constants, strict=True)
    ]
    assert (plan.sql, tuple(bound)) == (sql, params)


def test_one_statement_per_lookup_and_unknown_keys_find_nothing(keys):
    with CaptureQueriesContext(connection) as queries:
        assert find_api_key(keys[0].secret).pk == keys[0].api_key.pk
        assert find_api_key("hk_nothere_" + "x" * 43) is None
    assert len(queries) == 2


def test_a_revoked_key_is_refused_on_the_very_next_request(tenant):
    api = client_for(tenant)
    assert api.get("/api/v1/services").status_code == 200
    assert api.get("/api/v1/services").status_code == 200  # the statement is compiled now
    services.revoke_api_key(api_key=api.api_key)
    refused = api.get("/api/v1/services")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "api_key_revoked"


def test_changes_made_behind_the_orms_back_are_seen_on_the_next_request(tenant):
    api = client_for(tenant, scopes=["payments:read"])
    assert api.get("/api/v1/payments").status_code == 200
    # A bulk UPDATE (the admin's actions, a script) sends no signal: only a fresh read
    # can see it.
    with all_tenants():
        ApiKey.objects.filter(pk=api.api_key.pk).update(scopes=[])
    assert api.get("/api/v1/payments").status_code == 403
    with all_tenants():
        ApiKey.objects.filter(pk=api.api_key.pk).update(
            scopes=["payments:read"], expires_at=timezone.now() - timedelta(seconds=1)
        )
    assert api.get("/api/v1/payments").status_code == 401


def test_a_rotated_key_works_until_its_overlap_ends(tenant):
    api = client_for(tenant)
    assert api.get("/api/v1/services").status_code == 200
    services.rotate_api_key(api_key=api.api_key, overlap=timedelta(seconds=0))
    assert api.get("/api/v1/services").status_code == 401


# ------------------------------------------------------------------- tenant scope


@pytest.fixture
def two_services(make_tenant):
    first, second = make_tenant(), make_tenant()
    return [
        services.create_service(tenant=t, code="fees", name="Fees", interaction_kind="regulatory")
        for t in (first, second)
    ]


def service_query() -> CompiledQuery:
    return CompiledQuery(
        lambda p: Service.objects.filter(tenant_id=p.tenant_id, pk=p.service_id).order_by(),
        params=["tenant_id", "service_id"],
        tenant_param="tenant_id",
    )


def test_a_compiled_query_outside_any_scope_raises_like_the_scoped_managers(two_services):
    mine = two_services[0]
    query = service_query()
    with pytest.raises(ScopeError):
        query.fetch(tenant_id=mine.tenant_id, service_id=mine.pk)
    with pytest.raises(ScopeError):
        list(Service.objects.filter(pk=mine.pk))


def test_in_one_agencys_scope_another_agencys_rows_cannot_be_asked_for(two_services):
    mine, theirs = two_services
    query = service_query()
    with tenant_scope(mine.tenant):
        assert query.first(tenant_id=mine.tenant_id, service_id=mine.pk).pk == mine.pk
        # Its own tenant id with the other agency's row id: not found, as in the ORM.
        assert query.first(tenant_id=mine.tenant_id, service_id=theirs.pk) is None
        assert not Service.objects.filter(pk=theirs.pk).exists()
        with pytest.raises(ScopeSwitchError):
            query.fetch(tenant_id=theirs.tenant_id, service_id=theirs.pk)
    with all_tenants():  # cross-tenant work may name any agency
        assert query.first(tenant_id=theirs.tenant_id, service_id=theirs.pk).pk == theirs.pk


def test_the_payment_api_cannot_use_another_agencys_service(two_services):
    mine, theirs = two_services
    api = client_for(mine.tenant)
    body = {"amount": 100, "currency": "EUR", "description": "d", "reference": "r"}
    refused = api.post("/api/v1/payments", {**body, "service": theirs.pk}, format="json")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "does_not_exist"
    created = api.post("/api/v1/payments", {**body, "service": mine.pk}, format="json")
    assert created.status_code == 201, created.json()
    # Odd input still gets DRF's own answer.
    odd = api.post("/api/v1/payments", {**body, "service": True}, format="json")
    assert odd.status_code == 400


def test_a_tenant_statement_must_name_its_tenant_or_its_reason():
    build = lambda p: Service.objects.filter(pk=p.service_id)  # noqa: E731
    with pytest.raises(StatementError):
        CompiledQuery(build, params=["service_id"])
    with pytest.raises(StatementError):
        CompiledQuery(build, params=["service_id"], tenant_param="tenant_id")
    with pytest.raises(StatementError):
        CompiledQuery(build, params=["service_id"], tenant_param="x", across_tenants="why")


# ------------------------------------------------------------------- what does not compile


def test_a_value_changed_on_its_way_into_the_sql_refuses_to_compile(two_services):
    query = CompiledQuery(
        lambda p: Service.objects.filter(name__icontains=p.name),
        params=["name"],
        across_tenants="test",
    )
    with all_tenants(), pytest.raises(StatementError):
        query.fetch(name="Fees")


def test_a_parameter_missing_from_the_sql_refuses_to_compile(two_services):
    query = CompiledQuery(
        lambda p: Service.objects.filter(code="fees"), params=["name"], across_tenants="test"
    )
    with all_tenants(), pytest.raises(StatementError):
        query.fetch(name="Fees")


def test_values_are_strings_and_exactly_the_declared_ones(two_services):
    query = service_query()
    with all_tenants():
        with pytest.raises(TypeError):
            query.fetch(tenant_id=two_services[0].tenant_id, service_id=None)
        with pytest.raises(TypeError):
            query.fetch(tenant_id=two_services[0].tenant_id)


# ------------------------------------------------------------------- provider accounts


def orm_provider_account(tenant, service):
    candidates = list(
        ProviderAccount.objects.filter(
            Q(service_id=service.pk) | Q(service_id=None), tenant_id=tenant.pk, active=True
        ).order_by()
    )
    own = next((a for a in candidates if a.service_id is not None), None)
    return own or next(iter(candidates), None)


@pytest.mark.parametrize("own", ["none", "active", "inactive"])
@pytest.mark.parametrize("default", ["none", "active", "inactive"])
def test_the_compiled_provider_account_choice_is_the_orms(make_tenant, own, default):
    tenant, stranger = make_tenant(), make_tenant()
    service = services.create_service(
        tenant=tenant, code="fees", name="Fees", interaction_kind="regulatory"
    )
    with all_tenants():
        # Another agency's accounts must never be chosen.
        ProviderAccount.objects.create(tenant=stranger, provider="stripe", secret_key="sk_x")
        if own != "none":
            ProviderAccount.objects.create(
                tenant=tenant,
                service=service,
                provider="stripe",
                secret_key="sk_own",
                active=own == "active",
            )
        if default != "none":
            ProviderAccount.objects.create(
                tenant=tenant,
                provider="sandbox",
                secret_key="sk_default",
                active=default == "active",
            )
    with tenant_scope(tenant):
        chosen = provider_account_for(tenant=tenant, service=service)
        expected = orm_provider_account(tenant, service)
    if expected is None:
        assert chosen is None
    else:
        assert field_values(chosen) == field_values(expected)
        assert chosen.secret_key == expected.secret_key  # decrypted by the same converter
    with tenant_scope(stranger), pytest.raises(ScopeSwitchError):
        _ACCOUNTS_FOR_SERVICE.fetch(tenant_id=tenant.pk, service_id=service.pk)


# ------------------------------------------------------------------- compiled inserts


AUDIT_INSERT = CompiledInsert(
    AuditEntry, save_override="AuditEntry.save() only refuses to change a saved entry"
)
CLAIM_INSERT = CompiledInsert(IdempotencyRecord)


def audit_entry(tenant, **overrides) -> AuditEntry:
    fields = {
        "tenant": tenant,
        "actor_kind": AuditEntry.ActorKind.API_KEY,
        "actor_id": "key_1",
        "actor_label": "API key x",
        "action": "POST /api/v1/payments",
        "changes": {"amount": 12, "nested": {"a": [1, 2]}},
        "status_code": 201,
        "remote_addr": "127.0.0.1",
    }
    fields.update(overrides)
    return AuditEntry(**fields)


def test_a_compiled_insert_writes_the_row_the_orm_writes(tenant):
    with tenant_scope(tenant):
        by_orm = audit_entry(tenant)
        by_orm.save(force_insert=True)
        compiled = AUDIT_INSERT.insert(audit_entry(tenant, occurred_at=by_orm.occurred_at))
        assert compiled.pk != by_orm.pk and compiled.pk.startswith("aud_")
        assert not compiled._state.adding and compiled._state.db == "default"
        rows = {e.pk: field_values(e) for e in AuditEntry.objects.filter(tenant=tenant)}
    assert set(rows) == {by_orm.pk, compiled.pk}
    assert {**rows[compiled.pk], "id": None} == {**rows[by_orm.pk], "id": None}


def test_the_compiled_insert_sql_is_the_orms_own(tenant):
    from django.db.models.sql import InsertQuery

    with tenant_scope(tenant):
        for model, obj in [
            (AuditEntry, audit_entry(tenant)),
            (IdempotencyRecord, IdempotencyRecord(tenant=tenant, key="k", fingerprint="f")),
        ]:
            insert = CompiledInsert(model, save_override="test")
            plan = insert._plan(connection, obj._is_pk_set(model._meta))
            query = InsertQuery(model)
            query.insert_values(plan.fields, [obj])
            compiler = query.get_compiler(connection=connection)
            compiler.returning_fields = model._meta.db_returning_fields
            [(sql, _params)] = compiler.as_sql()
            assert plan.sql == sql


def test_an_auto_id_comes_back_and_a_duplicate_is_an_integrity_error(tenant):
    with tenant_scope(tenant):
        record = CLAIM_INSERT.insert(IdempotencyRecord(tenant=tenant, key="k1", fingerprint="f"))
        assert isinstance(record.pk, int)
        assert IdempotencyRecord.objects.get(pk=record.pk).key == "k1"
        with transaction.atomic(), pytest.raises(IntegrityError), transaction.atomic():
            CLAIM_INSERT.insert(IdempotencyRecord(tenant=tenant, key="k1", fingerprint="g"))
        # Inside a transaction a failed insert marks it for rollback, as save() does.
        with pytest.raises(IntegrityError), transaction.atomic():
            try:
                CLAIM_INSERT.insert(IdempotencyRecord(tenant=tenant, key="k1", fingerprint="h"))
            except IntegrityError:
                assert transaction.get_rollback()
                raise
        assert IdempotencyRecord.objects.filter(key="k1").count() == 1


def test_a_compiled_insert_keeps_the_scope_rules(tenant, other_tenant):
    with pytest.raises(ScopeError):
        CLAIM_INSERT.insert(IdempotencyRecord(tenant=tenant, key="k", fingerprint="f"))
    with tenant_scope(tenant), pytest.raises(ScopeSwitchError):
        CLAIM_INSERT.insert(IdempotencyRecord(tenant=other_tenant, key="k", fingerprint="f"))
    with all_tenants():
        CLAIM_INSERT.insert(IdempotencyRecord(tenant=other_tenant, key="k", fingerprint="f"))
        assert IdempotencyRecord.objects.filter(tenant=other_tenant).count() == 1
        assert IdempotencyRecord.objects.filter(tenant=tenant).count() == 0


def test_a_saved_row_or_another_model_is_refused(tenant):
    with tenant_scope(tenant):
        record = CLAIM_INSERT.insert(IdempotencyRecord(tenant=tenant, key="k", fingerprint="f"))
        with pytest.raises(ValueError):
            CLAIM_INSERT.insert(record)
        with pytest.raises(TypeError):
            CLAIM_INSERT.insert(audit_entry(tenant))
    with pytest.raises(StatementError):
        CompiledInsert(AuditEntry)  # overrides save(): the reason must be given


def test_with_a_save_signal_listening_the_row_goes_through_save(tenant):
    from django.db.models.signals import post_save

    seen = []

    def listener(sender, instance, created, **kwargs):
        seen.append((instance.key, created))

    post_save.connect(listener, sender=IdempotencyRecord, weak=False)
    try:
        with tenant_scope(tenant):
            CLAIM_INSERT.insert(IdempotencyRecord(tenant=tenant, key="k", fingerprint="f"))
    finally:
        post_save.disconnect(listener, sender=IdempotencyRecord)
    assert seen == [("k", True)]


# ------------------------------------------------------------------- the same statements


def captured(action) -> list[str]:
    """The statements ``action`` sends, values quoted in (the same for either binding)."""
    sent = []

    def record(execute, sql, params, many, context):
        sent.append(connection.ops.compose_sql(sql, params) if params else sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        action()
    return sent


def test_the_compiled_payment_insert_sends_the_orms_statement(tenant):
    from payments.models import Payment
    from payments.services.lifecycle import _PAYMENT_INSERT
    from tests.payments.conftest import new_payment

    service = services.create_service(
        tenant=tenant, code="fees", name="Fees", interaction_kind="regulatory"
    )
    template = new_payment(tenant, service)
    fields = {
        f.attname: getattr(template, f.attname)
        for f in Payment._meta.concrete_fields
        if f.attname not in ("id", "hosted_token")
    }
    by_orm = Payment(id="pay_byorm", hosted_token="t-orm", **fields)
    compiled = Payment(id="pay_compiled", hosted_token="t-cmp", **fields)
    with tenant_scope(tenant), transaction.atomic():
        orm_sql = captured(lambda: by_orm.save(force_insert=True))
        compiled_sql = captured(lambda: _PAYMENT_INSERT.insert(compiled))
        rows = {p.pk: field_values(p) for p in Payment.objects.filter(pk__startswith="pay_")}
    normalise = lambda sqls, pk, token: [  # noqa: E731
        s.replace(pk, "PK").replace(token, "TOKEN") for s in sqls
    ]
    assert normalise(compiled_sql, "pay_compiled", "t-cmp") == normalise(
        orm_sql, "pay_byorm", "t-orm"
    )
    assert {**rows["pay_compiled"], "id": 0, "hosted_token": 0} == {
        **rows["pay_byorm"],
        "id": 0,
        "hosted_token": 0,
    }


def test_a_compiled_update_sends_the_orms_statement(tenant):
    from hub.idempotency import _RESPONSE_UPDATE

    with tenant_scope(tenant):
        first = IdempotencyRecord.objects.create(tenant=tenant, key="a", fingerprint="f")
        second = IdempotencyRecord.objects.create(tenant=tenant, key="b", fingerprint="f")
        done = timezone.now()
        for record in (first, second):
            record.status_code, record.completed_at = 201, done
            record.response_body = {"id": "pay_x", "amount": 12, "list": [1, "two"]}
        fields = ["status_code", "response_body", "encrypted_response_body", "completed_at"]
        orm_sql = captured(lambda: first.save(update_fields=fields))
        compiled_sql = captured(lambda: _RESPONSE_UPDATE.update(second))
        assert compiled_sql == [
            s.replace(f'"id" = {first.pk}', f'"id" = {second.pk}') for s in orm_sql
        ]
        assert field_values(IdempotencyRecord.objects.get(pk=second.pk)) == {
            **field_values(IdempotencyRecord.objects.get(pk=first.pk)),
            "id": second.pk,
            "key": "b",
            "created_at": second.created_at,
        }


def test_a_compiled_update_of_a_vanished_row_fails_as_save_does(tenant, other_tenant):
    from django.db import DatabaseError

    from hub.idempotency import _RESPONSE_UPDATE

    with tenant_scope(tenant):
        record = IdempotencyRecord.objects.create(tenant=tenant, key="a", fingerprint="f")
        IdempotencyRecord.objects.filter(pk=record.pk).delete()
        with pytest.raises(DatabaseError, match="did not affect any rows"):
            _RESPONSE_UPDATE.update(record)
        with pytest.raises(ValueError):
            _RESPONSE_UPDATE.update(IdempotencyRecord(tenant=tenant, key="new"))
    with all_tenants():
        theirs = IdempotencyRecord.objects.create(tenant=other_tenant, key="t", fingerprint="f")
    with tenant_scope(tenant), pytest.raises(ScopeSwitchError):
        _RESPONSE_UPDATE.update(theirs)
    with pytest.raises(ScopeError):
        _RESPONSE_UPDATE.update(theirs)


def test_values_bound_by_the_server_round_trip_exactly(tenant, on_postgres):
    from tenants.statements import _cursor

    awkward = 'O\'Brien \\ "quoted" ü € %s %(x)s -- ; DROP TABLE x'
    with tenant_scope(tenant):
        entry = AUDIT_INSERT.insert(
            audit_entry(tenant, actor_label=awkward, summary=awkward, changes={"s": awkward})
        )
        stored = AuditEntry.objects.get(pk=entry.pk)
        assert (stored.actor_label, stored.summary, stored.changes) == (
            awkward[:200],
            awkward,
            {"s": awkward},
        )
        assert stored.occurred_at == entry.occurred_at  # time zone included
        query = CompiledQuery(
            lambda p: AuditEntry.objects.filter(tenant_id=p.tenant_id, summary=p.summary),
            params=["tenant_id", "summary"],
            tenant_param="tenant_id",
        )
        assert [e.pk for e in query.fetch(tenant_id=tenant.pk, summary=awkward)] == [entry.pk]
    if on_postgres:
        import psycopg

        with _cursor(connection) as cursor:
            assert type(cursor.cursor).__mro__[1:].count(psycopg.ClientCursor) == 0
            assert isinstance(cursor.cursor, psycopg.Cursor)
