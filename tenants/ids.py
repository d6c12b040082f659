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


_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"  # RFC 4648's alphabet, lower-cased as above


def id_bits_sql(uuid_column: str) -> str:
    """A PostgreSQL expression of the 120 random bits (``bit(120)``) of ``uuid_column``,
    a ``gen_random_uuid()`` of the row (PostgreSQL 13+, the server's cryptographic random
    source), for ``id_sql``.

    A version 4 UUID has 122 random bits: its 32 hex digits less the version digit (the
    13th) and the variant digit (the 17th, two bits fixed) are 30 digits of 120 random
    bits, as many as ``new_id`` draws."""
    digits = f"replace({uuid_column}::text, '-', '')"
    random_hex = f"substr({digits}, 1, 12) || substr({digits}, 14, 3) || substr({digits}, 18)"
    return f"('x' || {random_hex})::bit(120)"


def id_sql(prefix: str, bits_column: str) -> str:
    """A PostgreSQL expression giving ``new_id(prefix)``'s format from ``bits_column``
    (``id_bits_sql`` of the row, computed once): the prefix, ``_`` and 24 base32
    characters, the bits cut into groups of 5 exactly as ``base64.b32encode`` cuts 15
    bytes. So the ids of rows written by one ``INSERT … SELECT`` are as unguessable and as
    unlikely to collide as those made in Python (the primary key refuses a collision
    either way). ``prefix`` is a constant of the code, never input."""
    if not (prefix.isascii() and prefix.isalpha() and prefix.islower()):
        raise ValueError(f"not an id prefix: {prefix!r}")
    characters = " || ".join(
        f"substr('{_BASE32}', substring({bits_column} from {5 * k + 1} for 5)::int + 1, 1)"
        for k in range(24)
    )
    return f"('{prefix}_' || {characters})"
