"""Opaque, prefixed identifiers (``pay_…``, ``svc_…``): readable in logs, never guessable."""

import base64
import secrets


def new_id(prefix: str) -> str:
    # 120 random bits, base32 without padding: URL-safe and case-insensitive.
    return f"{prefix}_" + base64.b32encode(secrets.token_bytes(15)).decode().lower()


class PrefixedId:
    """A callable for ``default=`` that Django migrations can serialise."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __call__(self) -> str:
        return new_id(self.prefix)

    def deconstruct(self):
        return ("tenants.ids.PrefixedId", (self.prefix,), {})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PrefixedId) and other.prefix == self.prefix

    def __hash__(self) -> int:
        return hash(self.prefix)
