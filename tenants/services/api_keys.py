"""Agencies' API keys: issued once (the secret shown once), found by hash, rotated, revoked."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from tenants.models import ApiKey, Tenant
from tenants.scope import all_tenants
from tenants.statements import CompiledQuery

KEY_PREFIX = "hk_"
DEFAULT_ROTATION_OVERLAP = timedelta(hours=24)
# A key's last_used_at is refreshed at most this often: one write per request would
# turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedKey:
    """A new key and its secret. The secret exists only here: show it once."""

    api_key: ApiKey
    secret: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_secret() -> tuple[str, str]:
    prefix = base64.b32encode(secrets.token_bytes(5)).decode().lower()
    return prefix, f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"


def issue_api_key(*, tenant: Tenant, name: str, scopes: list[str] | None = None) -> IssuedKey:
    scopes = list(ApiKey.Scope.values) if scopes is None else list(scopes)
    unknown = sorted(set(scopes) - set(ApiKey.Scope.values))
    if unknown:
        raise ValueError(f"unknown scopes: {', '.join(unknown)}")
    prefix, secret = _new_secret()
    # Keys are issued from the admin and commands, before any scope exists; the row
    # names its tenant.
    with all_tenants():
        api_key = ApiKey.objects.create(
            tenant=tenant, name=name, prefix=prefix, secret_hash=hash_secret(secret), scopes=scopes
        )
    return IssuedKey(api_key=api_key, secret=secret)


# Every API request runs this: compiled once per process (tenants/statements.py), the
# row itself read afresh each time, so a revoked key fails on the very next request.
# The hash is unique: a slice, not first(), whose ORDER BY is no use for one row.
_KEY_BY_HASH = CompiledQuery(
    lambda p: ApiKey.objects.select_related("tenant").filter(secret_hash=p.secret_hash)[:1],
    params=["secret_hash"],
    across_tenants="authentication: the key is what tells us the tenant",
)


def find_api_key(secret: str) -> ApiKey | None:
    """One indexed lookup by hash; the tenant comes along in the same query."""
    if not secret.startswith(KEY_PREFIX):
        return None
    # Authentication: the key is what tells us the tenant, so no scope can be set yet.
    with all_tenants():
        return _KEY_BY_HASH.first(secret_hash=hash_secret(secret))


def touch_api_key(api_key: ApiKey) -> None:
    now = timezone.now()
    if api_key.last_used_at and now - api_key.last_used_at < LAST_USED_RESOLUTION:
        return
    # Runs during authentication, before the key's tenant scope is set.
    with all_tenants():
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now


def revoke_api_key(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


@transaction.atomic
def rotate_api_key(*, api_key: ApiKey, overlap: timedelta = DEFAULT_ROTATION_OVERLAP) -> IssuedKey:
    """A new key with the same scopes; the old one keeps working for ``overlap``.

    The overlap lets an agency deploy the new secret before the old one stops.
    """
    if not api_key.is_usable():
        raise ValueError("a revoked or expired key cannot be rotated")
    issued = issue_api_key(tenant=api_key.tenant, name=api_key.name, scopes=api_key.scopes)
    api_key.expires_at = timezone.now() + overlap
    api_key.replaced_by = issued.api_key
    api_key.save(update_fields=["expires_at", "replaced_by"])
    return issued
