"""The API's hot statements, compiled once per process instead of once per request.

Every ``POST /api/v1/payments`` looks up its API key, its service and a provider
account, and inserts a payment, a timeline row, an event, an audit entry and an
idempotency record. Running each of those statements costs PostgreSQL about 0.1 ms;
building and compiling it through the ORM cost 1-2 ms of Python (``filter()``,
``build_filter``, ``as_sql``), and the request made nine (docs/performance.md, "API:
creating payments"). The statements never change shape, only their values, so:

- ``CompiledQuery``: a queryset the ORM builds and compiles once (per process and
  database alias), with named markers where the values go. Each call runs the cached
  SQL with its own values and builds the model instances as the ORM's own iterable does
  (``Model.from_db``, the same converters, ``select_related`` populated). The rows are
  read from the database on every call: nothing is cached but the SQL, so a key revoked
  a moment ago is refused on the very next request.
- ``CompiledInsert``: the single-row INSERT ``Model.save(force_insert=True)`` would send,
  built once per model; each call only prepares the values (``pre_save`` and
  ``get_db_prep_save`` of every field, as the ORM does).

Tenancy stays explicit. A compiled query is built outside the scoped managers' reach,
so the tenant is a parameter of the statement itself (``tenant_param``), checked
against the current scope on every call: outside any scope it raises ``ScopeError``
(as the scoped managers do), and in one agency's scope it refuses another agency's id.
A statement that must read across tenants (the API-key lookup, which is how a request
learns its tenant) says so with ``across_tenants`` and a reason. A compiled insert of
a tenant-owned row raises outside any scope and refuses, inside one agency's scope, a
row of another agency.

On PostgreSQL they run on a cursor that binds the values server-side (psycopg's own
``Cursor``, which Django uses with ``OPTIONS["server_side_binding"]``) rather than
Django's default client-side one, which quotes every value into the SQL text in
Python: about 0.06-0.1 ms of CPU less per statement. The SQL and the values are the
same; prepared statements stay off, as Django leaves them (connection poolers).

tests/tenants/test_statements.py holds them to what the ORM does: the same SQL, the same
instances, the same rows written.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections, models, router, transaction
from django.db.models.query import ModelIterable, get_related_populators
from django.db.models.signals import post_save, pre_save

from tenants.scope import ALL_TENANTS, ScopeError, ScopeSwitchError, all_tenants, current_scope
from tenants.scoping import TenantOwnedModel

_TOKEN = secrets.token_hex(4)
# PostgreSQL prepared statements for the compiled statements (see _cursor). Off for a
# transaction-mode connection pooler that cannot carry them (PgBouncer before 1.21).
PREPARED = getattr(settings, "HUB_PREPARED_STATEMENTS", True)


def _cursor(connection):
    """A cursor for a compiled statement: Django's wrapper (error translation, query
    logging, execute wrappers) around a server-binding psycopg cursor on PostgreSQL."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    if not is_psycopg3:
        return connection.cursor()
    from django.db.backends.postgresql.base import TIMESTAMPTZ_OID, ServerBindingCursor
    from django.db.backends.postgresql.psycopg_any import register_tzloader
    from psycopg.pq import Format

    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = connection.connection
        if raw.prepare_threshold is None and PREPARED:
            # Prepared on first use, per connection: PostgreSQL then skips parsing and
            # planning them on every call. Only server-binding cursors prepare (Django's
            # own client-side cursors never do), so this is the compiled statements alone.
            raw.prepare_threshold = 0
        # The same adapters as Django's own cursors (they belong to the connection),
        # and the same time-zone check as its create_cursor().
        cursor = _preparing_cursor_class(ServerBindingCursor)(raw)
        loader = connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
        if connection.timezone != loader.timezone:
            register_tzloader(connection.timezone, cursor)
        return connection._prepare_cursor(cursor)


_PREPARING_CURSOR = None


def _preparing_cursor_class(base):
    """Django's server-binding cursor, and when psycopg runs a prepared statement it
    still records the query: psycopg sets the ``_query`` that Django's query log
    (``last_executed_query``: DEBUG, ``CaptureQueriesContext``) reads only for
    statements it does not prepare."""
    global _PREPARING_CURSOR
    if _PREPARING_CURSOR is None:

        class PreparingCursor(base):
            def _send_query_prepared(self, name, pgq, **kwargs):
                self._query = pgq
                return super()._send_query_prepared(name, pgq, **kwargs)

        _PREPARING_CURSOR = PreparingCursor
    return _PREPARING_CURSOR


class StatementError(RuntimeError):
    """A statement that cannot be compiled safely (a programming error, found at once)."""


class Markers:
    """Attribute access gives the marker of a named parameter, to use in ``filter()``.

    A marker is a string no real value equals, with spaces at both ends and mixed case, so
    a field that strips or changes case of its values would change it: compiling then
    fails instead of silently binding the wrong text."""

    def __init__(self, names: Sequence[str]) -> None:
        self._values = {name: f" Hub.Param[{name}:{_TOKEN}] " for name in names}

    def __getattr__(self, name: str) -> str:
        try:
            return self.__dict__["_values"][name]
        except KeyError:
            raise StatementError(f"undeclared parameter {name!r}") from None

    def slot(self, value: object) -> str | None:
        for name, marker in self._values.items():
            if value == marker:
                return name
        return None

    def leaked(self, value: object) -> bool:
        return isinstance(value, str) and any(m in value for m in self._values.values())


@dataclass(frozen=True)
class _QueryPlan:
    vendor: str
    sql: str
    # Per parameter: the name of the value to bind, or None for a constant.
    slots: tuple[str | None, ...]
    constants: tuple[object, ...]
    model: type[models.Model]
    init_list: tuple[str, ...]
    model_start: int
    model_end: int
    populators: tuple
    annotations: tuple[tuple[str, int], ...]
    converters: dict
    col_count: int
    has_extra_select: bool
    compiler: Any  # for apply_converters only: converters are bound to fields, not state


class CompiledQuery:
    """``build(markers)`` returns a queryset; ``fetch(**values)`` runs its SQL.

    ``params`` names the string values a call passes. ``tenant_param`` (one of them)
    is the tenant id the statement filters on, checked against the current scope;
    otherwise ``across_tenants`` must give the reason the statement reads every tenant.
    """

    def __init__(
        self,
        build: Callable[[Markers], models.QuerySet],
        *,
        params: Sequence[str],
        tenant_param: str | None = None,
        across_tenants: str | None = None,
    ) -> None:
        if (tenant_param is None) == (across_tenants is None):
            raise StatementError("give tenant_param or across_tenants (with its reason)")
        if tenant_param is not None and tenant_param not in params:
            raise StatementError(f"tenant_param {tenant_param!r} is not one of params")
        self.build = build
        self.params = tuple(params)
        self.tenant_param = tenant_param
        self.across_tenants = across_tenants
        self._plans: dict[str, _QueryPlan] = {}
        self._model: type[models.Model] | None = None

    def queryset(self, **values: str) -> models.QuerySet:
        """The ORM queryset this statement stands for, with these values (for tests and
        for the rare call that needs more than ``fetch``)."""
        self._check_values(values)
        with all_tenants():
            built = self.build(_Literal(values))
        return built

    def fetch(self, **values: str) -> list[models.Model]:
        self._check_values(values)
        self._check_scope(values)
        plan = self._plan()
        params = [
            values[slot] if slot is not None else constant
            for slot, constant in zip(plan.slots, plan.constants, strict=True)
        ]
        connection = connections[self._alias(plan.model)]
        with _cursor(connection) as cursor:
            cursor.execute(plan.sql, params)
            rows = cursor.fetchall()
        if plan.has_extra_select:
            rows = [row[: plan.col_count] for row in rows]
        if plan.converters:
            rows = list(plan.compiler.apply_converters(rows, plan.converters))
        alias = connection.alias
        found = []
        for row in rows:
            obj = plan.model.from_db(alias, plan.init_list, row[plan.model_start : plan.model_end])
            for populator in plan.populators:
                populator.populate(row, obj)
            for attribute, position in plan.annotations:
                setattr(obj, attribute, row[position])
            found.append(obj)
        return found

    def first(self, **values: str) -> models.Model | None:
        found = self.fetch(**values)
        return found[0] if found else None

    # ----------------------------------------------------------------- internals

    def _check_values(self, values: dict) -> None:
        if set(values) != set(self.params):
            raise TypeError(f"expected values for {sorted(self.params)}, got {sorted(values)}")
        for name, value in values.items():
            # NULL would need IS NULL, another SQL: only strings bind to a marker.
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a str, not {type(value).__name__}")

    def _check_scope(self, values: dict) -> None:
        scope = current_scope()
        if scope is None:
            raise ScopeError(
                "a compiled query of a tenant-owned model runs inside tenant_scope() "
                "or all_tenants(), like the scoped managers"
            )
        if (
            self.tenant_param is not None
            and scope is not ALL_TENANTS
            and values[self.tenant_param] != scope.pk
        ):
            raise ScopeSwitchError(f"scoped to {scope.slug}, asked to read another agency's rows")

    @staticmethod
    def _alias(model) -> str:
        return router.db_for_read(model)

    def _plan(self) -> _QueryPlan:
        # One plan per database alias, recompiled if the alias now names another backend.
        if self._model is not None:
            alias = self._alias(self._model)
            plan = self._plans.get(alias)
            if plan is not None and plan.vendor == connections[alias].vendor:
                return plan
        return self._compile()

    def _compile(self) -> _QueryPlan:
        markers = Markers(self.params)
        with all_tenants():
            queryset = self.build(markers)
        if queryset._iterable_class is not ModelIterable:
            raise StatementError("only querysets of model instances (no values()) compile")
        if queryset._prefetch_related_lookups or queryset._known_related_objects:
            raise StatementError("prefetch_related and related managers do not compile")
        if queryset.query.is_sliced and queryset.query.low_mark:
            raise StatementError("offsets vary per call: not compiled")
        alias = queryset.db
        connection = connections[alias]
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        slots, constants = [], []
        for value in params:
            slot = markers.slot(value)
            if slot is None and markers.leaked(value):
                raise StatementError(
                    f"a parameter was changed on its way into the SQL ({value!r}): only "
                    "plain equality lookups of strings compile"
                )
            slots.append(slot)
            constants.append(None if slot is not None else value)
        missing = set(self.params) - set(slots)
        if missing:
            raise StatementError(f"parameters not in the SQL: {sorted(missing)}")
        if self.tenant_param is not None:
            model = queryset.model
            if not issubclass(model, TenantOwnedModel):
                raise StatementError(f"{model.__name__} has no tenant to filter on")
        select, klass_info = compiler.select, compiler.klass_info
        select_fields = klass_info["select_fields"]
        start, end = select_fields[0], select_fields[-1] + 1
        fields = [s[0] for s in select[0 : compiler.col_count]]
        plan = _QueryPlan(
            vendor=connection.vendor,
            sql=sql,
            slots=tuple(slots),
            constants=tuple(constants),
            model=klass_info["model"],
            init_list=tuple(f[0].target.attname for f in select[start:end]),
            model_start=start,
            model_end=end,
            populators=tuple(get_related_populators(klass_info, select, alias)),
            annotations=tuple(compiler.annotation_col_map.items()),
            converters=compiler.get_converters(fields),
            col_count=compiler.col_count,
            has_extra_select=compiler.has_extra_select,
            compiler=compiler,
        )
        self._plans[alias] = plan
        self._model = plan.model
        return plan


class _Literal:
    """``build``'s argument when building the plain queryset: the values themselves."""

    def __init__(self, values: dict) -> None:
        self._values = values

    def __getattr__(self, name: str) -> str:
        try:
            return self.__dict__["_values"][name]
        except KeyError:
            raise StatementError(f"undeclared parameter {name!r}") from None


@dataclass(frozen=True)
class _InsertPlan:
    vendor: str
    sql: str
    fields: tuple[models.Field, ...]
    returning_fields: tuple[models.Field, ...]
    returning_params: tuple
    converters: dict
    compiler: Any


class CompiledInsert:
    """``Model.save(force_insert=True)`` for new rows of one model, its SQL built once.

    What save() does around the INSERT happens here too: related objects are checked
    and their ids copied (``_prepare_related_fields_for_save``), the primary key default
    and every field's ``pre_save`` apply, a failure marks the transaction for rollback,
    database-returned fields (an auto id) are set, the instance counts as saved. While a
    ``pre_save`` or ``post_save`` receiver listens to the model, or a value is an
    expression, the row goes through save() itself.

    A model that overrides save() is refused unless ``save_override`` says why skipping
    it is right (AuditEntry.save() only refuses to change a saved entry; this only ever
    inserts new ones).
    """

    def __init__(self, model: type[models.Model], *, save_override: str | None = None) -> None:
        meta = model._meta
        if meta.parents or meta.proxy or meta.order_with_respect_to or meta.auto_created:
            raise StatementError(f"{model.__name__}: inherited, proxy or ordered models")
        if model.save is not models.Model.save and save_override is None:
            raise StatementError(
                f"{model.__name__} overrides save(): say why an INSERT may skip it"
            )
        if any(f.has_db_default() for f in meta.local_concrete_fields):
            raise StatementError(f"{model.__name__}: database defaults need the ORM")
        self.model = model
        self.save_override = save_override
        self._plans: dict[tuple[str, bool], _InsertPlan] = {}

    def insert(self, obj: models.Model) -> models.Model:
        model, meta = self.model, self.model._meta
        if type(obj) is not model:
            raise TypeError(f"expected a {model.__name__}, got {type(obj).__name__}")
        if not obj._state.adding:
            raise ValueError(f"this {model.__name__} is saved already: an INSERT adds rows")
        self._check_scope(obj)
        alias = router.db_for_write(model, instance=obj)
        if pre_save.has_listeners(model) or post_save.has_listeners(model):
            _send_pending(alias)  # save() itself runs: whatever it reads is written first
            obj.save(force_insert=True, using=alias)
            return obj
        obj._prepare_related_fields_for_save(operation_name="save")
        if not obj._is_pk_set(meta):
            setattr(obj, meta.pk.attname, meta.pk.get_pk_value_on_save(obj))
        connection = connections[alias]
        plan = self._plan(connection, obj._is_pk_set(meta))
        values = [field.pre_save(obj, add=True) for field in plan.fields]
        if any(hasattr(value, "resolve_expression") for value in values):
            _send_pending(alias)
            obj.save(force_insert=True, using=alias)
            return obj
        params = [
            field.get_db_prep_save(value, connection=connection)
            for field, value in zip(plan.fields, values, strict=True)
        ]
        params.extend(plan.returning_params)  # empty but on Oracle, as in as_sql()
        together = _Together.current(connection)
        if together is not None and not plan.returning_params:
            together.pending.append((plan, params, obj))
        else:
            with transaction.mark_for_rollback_on_error(using=alias), _cursor(connection) as cursor:
                cursor.execute(plan.sql, params)
                if plan.returning_fields:
                    row = connection.ops.fetch_returned_insert_columns(
                        cursor, plan.returning_params
                    )
                    _set_returned(plan, obj, row)
        obj._state.db = alias
        obj._state.adding = False
        return obj

    def _check_scope(self, obj) -> None:
        _check_row_scope(self.model, obj)

    def _plan(self, connection, pk_set: bool) -> _InsertPlan:
        key = (connection.alias, pk_set)
        plan = self._plans.get(key)
        if plan is not None and plan.vendor == connection.vendor:
            return plan
        if not connection.features.can_return_columns_from_insert:
            raise StatementError(f"{connection.vendor} cannot return columns from an INSERT")
        meta = self.model._meta
        fields = tuple(
            f
            for f in meta.local_concrete_fields
            if not f.generated and (pk_set or f is not meta.auto_field)
        )
        if any(getattr(f, "get_placeholder", None) is not None for f in fields):
            raise StatementError(f"{self.model.__name__}: a field with its own placeholder")
        # The SQL as SQLInsertCompiler.as_sql writes it for one row (the tests compare).
        from django.db.models.sql import InsertQuery

        query = InsertQuery(self.model)
        compiler = query.get_compiler(connection=connection)
        quote = connection.ops.quote_name
        returning_fields = tuple(meta.db_returning_fields)
        parts = [
            f"{connection.ops.insert_statement(on_conflict=None)} {quote(meta.db_table)}",
            "({})".format(", ".join(quote(f.column) for f in fields)),
            "VALUES ({})".format(", ".join(["%s"] * len(fields))),
        ]
        returning_params: tuple = ()
        if returning_fields:
            returning_sql, returning_params = connection.ops.return_insert_columns(
                list(returning_fields)
            )
            if returning_sql:
                parts.append(returning_sql)
        cols = [f.get_col(meta.db_table) for f in returning_fields]
        plan = _InsertPlan(
            vendor=connection.vendor,
            sql=" ".join(parts),
            fields=fields,
            returning_fields=returning_fields,
            returning_params=tuple(returning_params),
            converters=compiler.get_converters(cols),
            compiler=compiler,
        )
        self._plans[key] = plan
        return plan


def _set_returned(plan: _InsertPlan, obj: models.Model, row) -> None:
    rows = [row]
    if plan.converters:
        rows = list(plan.compiler.apply_converters(rows, plan.converters))
    for value, field in zip(rows[0], plan.returning_fields, strict=True):
        setattr(obj, field.attname, value)


class _Together:
    """The compiled INSERTs of a ``written_together`` block, not yet sent.

    Installed as an execute wrapper on the connection for the block: before any other
    statement runs on it (a read, an UPDATE, the ORM's own save()), the pending INSERTs
    are sent first, so everything the block does sees its rows as if each INSERT had
    run at once."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.pending: list[tuple[_InsertPlan, list, models.Model]] = []
        self.sending = False

    @staticmethod
    def current(connection) -> _Together | None:
        for wrapper in connection.execute_wrappers:
            if isinstance(wrapper, _Together):
                return wrapper
        return None

    def __call__(self, execute, sql, params, many, context):
        if self.pending and not self.sending:
            self.send()
        return execute(sql, params, many, context)

    def send(self) -> None:
        pending, self.pending = self.pending, []
        if not pending:
            return
        connection, quote = self.connection, self.connection.ops.quote_name
        if len(pending) == 1:
            plan, params, _ = pending[0]
            sql = plan.sql
        else:
            # One statement: each INSERT a data-modifying CTE (PostgreSQL runs every one
            # exactly once, in full, whether or not the main query reads it); the main
            # query returns the columns the INSERTs return (an auto id), in order.
            ctes = ", ".join(f"w{n} AS ({plan.sql})" for n, (plan, _, _) in enumerate(pending))
            returned = [
                # Quoted column names and CTE names made here: no value is in the SQL.
                f"(SELECT {quote(field.column)} FROM w{n})"  # noqa: S608
                for n, (plan, _, _) in enumerate(pending)
                for field in plan.returning_fields
            ]
            sql = f"WITH {ctes} SELECT {', '.join(returned) or '1'}"
            params = [value for _, values, _ in pending for value in values]
        self.sending = True
        try:
            with (
                transaction.mark_for_rollback_on_error(using=connection.alias),
                _cursor(connection) as cursor,
            ):
                cursor.execute(sql, params)
                if not any(plan.returning_fields for plan, _, _ in pending):
                    return
                row = cursor.fetchone()
        finally:
            self.sending = False
        start = 0
        for plan, _, obj in pending:
            width = len(plan.returning_fields)
            if width:
                _set_returned(plan, obj, row[start : start + width])
                start += width


def _send_pending(alias: str) -> None:
    together = _Together.current(connections[alias])
    if together is not None:
        together.send()


@contextmanager
def written_together(using: str = "default"):
    """The compiled INSERTs made in this block reach PostgreSQL as one statement.

    A payment, its timeline row and its event are three INSERTs of one change; three
    round trips cost PostgreSQL about three times the parsing, planning and protocol
    work of one. Inside the block ``CompiledInsert.insert`` checks and prepares its row
    as always (the scope rules, ``pre_save``, the instance counts as saved, its
    primary key is set if made in Python) but the INSERT waits: the pending INSERTs go
    as one statement (data-modifying CTEs) when the block ends, or before any other
    statement the connection runs meanwhile, so reads in the block see the rows. An
    auto id is set on its instance when they are sent; a failure (an IntegrityError)
    surfaces then, and marks the transaction for rollback as the INSERT itself would.
    A block that raises sends nothing. Not PostgreSQL, or outside a transaction (a
    COMMIT, which no execute wrapper sees, could then come between an INSERT and its
    sending): each INSERT runs at once. Nested in another block: with the outer one's."""
    connection = connections[using]
    if (
        connection.vendor != "postgresql"
        or not connection.in_atomic_block
        or _Together.current(connection) is not None
    ):
        yield
        return
    together = _Together(connection)
    with connection.execute_wrapper(together):
        try:
            yield
        except BaseException:
            together.pending = []  # the block failed: its rows are not written
            raise
        together.send()


@dataclass(frozen=True)
class _UpdatePlan:
    vendor: str
    sql: str
    fields: tuple[models.Field, ...]


class CompiledUpdate:
    """``obj.save(update_fields=fields)`` for one model, its UPDATE built once.

    As save() does: related objects are checked, every field's ``pre_save`` applies, a
    failure marks the transaction for rollback, and an UPDATE that finds no row raises
    ``DatabaseError``. While a save signal has a receiver for the model, or a value is
    an expression, save() itself runs. The row's tenant obeys the same scope rules as
    ``CompiledInsert``.
    """

    def __init__(self, model: type[models.Model], fields: Sequence[str]) -> None:
        meta = model._meta
        if meta.parents or meta.proxy or model.save is not models.Model.save:
            raise StatementError(f"{model.__name__}: inherited, proxy or own save()")
        self.model = model
        self.field_names = tuple(fields)
        self.fields = tuple(meta.get_field(name) for name in fields)
        if any(f.primary_key or f.generated or not f.concrete for f in self.fields):
            raise StatementError("only concrete, non-key, non-generated fields are updated")
        self._plans: dict[str, _UpdatePlan] = {}

    def update(self, obj: models.Model) -> None:
        model = self.model
        if type(obj) is not model:
            raise TypeError(f"expected a {model.__name__}, got {type(obj).__name__}")
        if obj._state.adding or obj.pk is None:
            raise ValueError(f"this {model.__name__} is not saved yet: nothing to update")
        _check_row_scope(model, obj)
        alias = router.db_for_write(model, instance=obj)
        if pre_save.has_listeners(model) or post_save.has_listeners(model):
            obj.save(update_fields=list(self.field_names), using=alias)
            return
        obj._prepare_related_fields_for_save(operation_name="save")
        values = [field.pre_save(obj, False) for field in self.fields]
        if any(hasattr(value, "resolve_expression") for value in values):
            obj.save(update_fields=list(self.field_names), using=alias)
            return
        connection = connections[alias]
        plan = self._plan(connection)
        params = [
            field.get_db_prep_save(value, connection=connection)
            for field, value in zip(self.fields, values, strict=True)
        ]
        params.append(model._meta.pk.get_db_prep_value(obj.pk, connection))
        with transaction.mark_for_rollback_on_error(using=alias), _cursor(connection) as cursor:
            cursor.execute(plan.sql, params)
            updated = cursor.rowcount
        if not updated:
            raise DatabaseError("Save with update_fields did not affect any rows.")
        obj._state.db = alias

    def _plan(self, connection) -> _UpdatePlan:
        plan = self._plans.get(connection.alias)
        if plan is not None and plan.vendor == connection.vendor:
            return plan
        if any(getattr(f, "get_placeholder", None) is not None for f in self.fields):
            raise StatementError(f"{self.model.__name__}: a field with its own placeholder")
        meta = self.model._meta
        quote = connection.ops.quote_name
        # As SQLUpdateCompiler.as_sql writes it for ``filter(pk=…).update(…)``.
        assignments = ", ".join(f"{quote(f.column)} = %s" for f in self.fields)
        where = f"{quote(meta.db_table)}.{quote(meta.pk.column)} = %s"
        plan = _UpdatePlan(
            vendor=connection.vendor,
            # Quoted identifiers and %s only: the values travel as parameters.
            sql=f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {where}",  # noqa: S608
            fields=self.fields,
        )
        self._plans[connection.alias] = plan
        return plan


def _check_row_scope(model: type[models.Model], obj: models.Model) -> None:
    """A tenant-owned row is written inside a scope, and inside one agency's scope only
    that agency's rows are."""
    if not issubclass(model, TenantOwnedModel):
        return
    scope = current_scope()
    if scope is None:
        raise ScopeError(
            f"{model.__name__} is tenant-owned: write it inside tenant_scope() "
            "or, for cross-tenant work, all_tenants()"
        )
    if scope is not ALL_TENANTS and obj.tenant_id != scope.pk:
        raise ScopeSwitchError(f"scoped to {scope.slug}, asked to write a row of another agency")
