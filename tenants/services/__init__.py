"""Tenants' public write API: every write to agencies, services, API keys and staff.

- agencies: an agency and its services;
- api_keys: keys issued (secret shown once), found by hash, rotated, revoked;
- staff: the agency roles of admin users.
"""

from tenants.services.agencies import (
    DuplicateServiceCode,
    create_service,
    create_tenant,
    set_tenant_status,
)
from tenants.services.api_keys import (
    KEY_PREFIX,
    IssuedKey,
    find_api_key,
    hash_secret,
    issue_api_key,
    revoke_api_key,
    rotate_api_key,
    touch_api_key,
)
from tenants.services.staff import ROLE_PERMISSIONS, create_staff_user, grant_role, revoke_role

__all__ = [
    "KEY_PREFIX",
    "ROLE_PERMISSIONS",
    "DuplicateServiceCode",
    "IssuedKey",
    "create_service",
    "create_staff_user",
    "create_tenant",
    "find_api_key",
    "grant_role",
    "hash_secret",
    "issue_api_key",
    "revoke_api_key",
    "revoke_role",
    "rotate_api_key",
    "set_tenant_status",
    "touch_api_key",
]
