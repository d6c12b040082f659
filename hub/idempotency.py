"""``Idempotency-Key`` with Stripe's semantics.

Same key and same request → the stored first response. Same key, different request →
409. Concurrent duplicates → one effect: the first request claims the key (a committed
row, unique per agency); the others wait for its response and replay it.

The claim is committed on its own, before the work; the work and the stored response
commit together. A request that dies mid-way therefore leaves a claim with no effect,
which a retry may take over once it is stale.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from hub.errors import Conflict, InvalidRequest
from hub.models import IdempotencyRecord
from tenants.models import Tenant
from tenants.scope import all_tenants
from tenants.statements import CompiledInsert, CompiledUpdate

MAX_KEY_LENGTH = 255
KEY_PATTERN = r"[\x20-\x7e]+"
KEY_CHARACTERS = re.compile(KEY_PATTERN)
WAIT_FOR_FIRST = timedelta(seconds=getattr(settings, "HUB_IDEMPOTENCY_WAIT_SECONDS", 10))
STALE_CLAIM = timedelta(seconds=getattr(settings, "HUB_IDEMPOTENCY_STALE_SECONDS", 60))
RETENTION = timedelta(hours=getattr(settings, "HUB_IDEMPOTENCY_RETENTION_HOURS", 48))
POLL_INTERVAL = 0.05


@dataclass
class Replay(Exception):
    """The key was used before: answer with the stored response."""

    status_code: int
    body: object


def fingerprint(*, method: str, path: str, body: object) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method}\n{path}\n{canonical}".encode()).hexdigest()


def claim(*, tenant: Tenant, key: str, method: str, path: str, body: object) -> IdempotencyRecord:
    """Claim ``key`` for this request, or raise Replay / Conflict."""
    # Printable ASCII only: control characters (NUL above all: PostgreSQL text cannot
    # hold it) are no part of a key a client generates on purpose, and an HTTP header
    # carries anything else only as mis-decoded Latin-1.
    if not key or len(key) > MAX_KEY_LENGTH or not KEY_CHARACTERS.fullmatch(key):
        raise InvalidRequest(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters",
            code="invalid_idempotency_key",
        )
    print_ = fingerprint(method=method, path=path, body=body)
    deadline = time.monotonic() + WAIT_FOR_FIRST.total_seconds()
    while True:
        try:
            return _insert_claim(
                tenant=tenant, key=key, fingerprint=print_, method=method, path=path
            )
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(key=key).first()
        if existing is None:
            continue  # the first claim was released between our insert and read
        if existing.fingerprint != print_:
            raise Conflict(
                "This Idempotency-Key was used with a different request",
                code="idempotency_key_reused",
            )
        if existing.is_complete:
            raise Replay(status_code=existing.status_code, body=stored_body(existing))
        if timezone.now() - existing.created_at > STALE_CLAIM:
            # The first request died without an effect (its work rolled back): take over.
            taken = IdempotencyRecord.objects.filter(
                pk=existing.pk, completed_at__isnull=True, created_at=existing.created_at
            ).update(created_at=timezone.now())
            if taken:
                existing.refresh_from_db()
                return existing
            continue
        if time.monotonic() > deadline:
            raise Conflict(
                "A request with this Idempotency-Key is still being processed",
                code="idempotency_key_in_use",
            )
        time.sleep(POLL_INTERVAL)


# Every idempotent POST inserts one and stores its response in it: both statements
# built once per process (tenants/statements.py).
_CLAIM_INSERT = CompiledInsert(IdempotencyRecord)
_RESPONSE_UPDATE = CompiledUpdate(
    IdempotencyRecord, ["status_code", "response_body", "encrypted_response_body", "completed_at"]
)


def _insert_claim(**fields) -> IdempotencyRecord:
    """The claim row, committed at once. Outside a transaction the INSERT is its own
    (no BEGIN/COMMIT round trips); inside one, a savepoint keeps a duplicate key from
    breaking the caller's transaction."""
    if connection.in_atomic_block:
        with transaction.atomic():
            return _CLAIM_INSERT.insert(IdempotencyRecord(**fields))
    return _CLAIM_INSERT.insert(IdempotencyRecord(**fields))


def complete(
    record: IdempotencyRecord, *, status_code: int, body: object, carries_secret: bool = False
) -> None:
    """Store the response to replay. One that carries a secret is stored encrypted only
    (the idempotency table is kept 48 h and is in every backup)."""
    record.status_code = status_code
    if carries_secret:
        record.response_body = None
        record.encrypted_response_body = json.dumps(body, cls=DjangoJSONEncoder)
    else:
        record.response_body = body
        record.encrypted_response_body = None
    record.completed_at = timezone.now()
    _RESPONSE_UPDATE.update(record)


def stored_body(record: IdempotencyRecord) -> object:
    if record.encrypted_response_body is not None:
        return json.loads(record.encrypted_response_body)
    return record.response_body


def release(record: IdempotencyRecord) -> None:
    """Forget a claim whose request failed unexpectedly, so a retry can run it."""
    IdempotencyRecord.objects.filter(pk=record.pk, completed_at__isnull=True).delete()


def purge_expired(*, now=None) -> int:
    cutoff = (now or timezone.now()) - RETENTION
    # The retention purge is hub housekeeping over every agency's records.
    with all_tenants():
        deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
