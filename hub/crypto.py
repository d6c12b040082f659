"""Encryption for secrets the hub must read back, and keyed hashes for look-ups.

Fernet (AES-128-CBC + HMAC-SHA256) from ``cryptography``; ``MultiFernet`` so keys
rotate: the first key in HUB_ENCRYPTION_KEYS encrypts, every key decrypts.
"""

from __future__ import annotations

import functools
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


@functools.cache
def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in settings.HUB_ENCRYPTION_KEYS])


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("cannot decrypt: wrong HUB_ENCRYPTION_KEYS or corrupted value") from exc


def keyed_hash(value: str, *, purpose: str) -> str:
    """HMAC-SHA256 with the server-side key: finds a value without storing it in clear.

    ``purpose`` separates domains, so the same number hashed for two uses differs.
    """
    key = settings.HUB_IDENTIFIER_HMAC_KEY.encode()
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):
    """Stores Fernet ciphertext; Python code sees the plaintext.

    Not searchable or orderable in SQL by design: pair it with a keyed hash column
    when look-ups are needed.
    """

    def from_db_value(self, value, expression, connection):
        return None if value is None else decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return None if value is None else encrypt(value)
