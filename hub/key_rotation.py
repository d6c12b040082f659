"""Re-encrypting stored secrets under the current key, so an old key can be retired.

``HUB_ENCRYPTION_KEYS`` lists the current key first and older keys after it: every key
decrypts, only the first encrypts. Adding a key does not touch what is stored, so each
value stays readable only with the key it was written under until it is re-encrypted
here. The rows are read and written as stored ciphertext (no model code runs, nothing
is decrypted into Python objects for longer than one Fernet call), in batches, each in
its own transaction; running it again changes nothing further.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.apps import apps
from django.db import connection, models, transaction

from hub.crypto import EncryptedTextField, reencrypt, under_current_key
from hub.storage import FERNET_PREFIX, EncryptedFileSystemStorage
from tenants.scope import all_tenants

BATCH_SIZE = 500


@dataclass
class FieldReport:
    label: str  # "app_label.Model.field"
    stored: int = 0  # values present
    stale: int = 0  # values not under the current key (before re-encrypting)
    reencrypted: int = 0


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedTextField]]:
    return [
        (model, field)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
    ]


def encrypted_file_fields() -> list[tuple[type[models.Model], models.FileField]]:
    """File fields whose storage encrypts (hub/storage.py): bank files."""
    return [
        (model, field)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, models.FileField)
        and isinstance(field.storage, EncryptedFileSystemStorage)
    ]


def _stored_files(model, field) -> Iterator[str]:
    # Key rotation re-encrypts every stored file, whichever agency owns it.
    with all_tenants():
        names = (
            model._base_manager.exclude(**{field.name: ""})
            .exclude(**{f"{field.name}__isnull": True})
            .values_list(field.name, flat=True)
        )
        yield from (name for name in names.iterator() if field.storage.exists(name))


def _file_is_current(storage, name) -> bool:
    raw = storage.stored_bytes(name)
    return raw.startswith(FERNET_PREFIX) and under_current_key(raw.decode("ascii"))


def check() -> list[FieldReport]:
    """How many stored values each encrypted field has, and how many are not yet under
    the current key (a file written in clear before encryption counts as stale)."""
    reports = []
    for model, field in encrypted_fields():
        report = FieldReport(_label(model, field))
        for _, token in _stored(model, field):
            report.stored += 1
            report.stale += not under_current_key(token)
        reports.append(report)
    for model, field in encrypted_file_fields():
        report = FieldReport(_label(model, field) + " (files)")
        for name in _stored_files(model, field):
            report.stored += 1
            report.stale += not _file_is_current(field.storage, name)
        reports.append(report)
    return reports


def reencrypt_all(*, batch_size: int = BATCH_SIZE) -> list[FieldReport]:
    """Re-encrypt every value that is not under the current key."""
    reports = []
    for model, field in encrypted_fields():
        report = FieldReport(_label(model, field))
        pending: list[tuple[object, str]] = []
        for pk, token in _stored(model, field):
            report.stored += 1
            if under_current_key(token):
                continue
            report.stale += 1
            pending.append((pk, reencrypt(token)))
            if len(pending) >= batch_size:
                report.reencrypted += _write(model, field, pending)
                pending = []
        report.reencrypted += _write(model, field, pending)
        reports.append(report)
    for model, field in encrypted_file_fields():
        report = FieldReport(_label(model, field) + " (files)")
        for name in _stored_files(model, field):
            report.stored += 1
            if _file_is_current(field.storage, name):
                continue
            report.stale += 1
            report.reencrypted += field.storage.rewrite_under_current_key(name)
        reports.append(report)
    return reports


def _label(model: type[models.Model], field: models.Field) -> str:
    return f"{model._meta.label}.{field.name}"


def _stored(model: type[models.Model], field: models.Field) -> Iterator[tuple[object, str]]:
    """(pk, ciphertext) of every row with a value, in primary-key pages."""
    quote = connection.ops.quote_name
    table, column = quote(model._meta.db_table), quote(field.column)
    pk = quote(model._meta.pk.column)
    last = None
    while True:
        where = f"{column} IS NOT NULL" + (f" AND {pk} > %s" if last is not None else "")
        params = [last] if last is not None else []
        with connection.cursor() as cursor:
            cursor.execute(
                # Names from model metadata, quoted by the backend; values are parameters.
                f"SELECT {pk}, {column} FROM {table} WHERE {where} ORDER BY {pk} LIMIT %s",  # noqa: S608
                [*params, BATCH_SIZE],
            )
            rows = cursor.fetchall()
        if not rows:
            return
        yield from rows
        last = rows[-1][0]


def _write(model: type[models.Model], field: models.Field, rows: list[tuple[object, str]]) -> int:
    if not rows:
        return 0
    quote = connection.ops.quote_name
    table, column = quote(model._meta.db_table), quote(field.column)
    pk = quote(model._meta.pk.column)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET {column} = %s WHERE {pk} = %s",  # noqa: S608  (as above)
            [(token, key) for key, token in rows],
        )
    return len(rows)
