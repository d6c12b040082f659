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
from django.core.signals import setting_changed
from django.db import models
from django.dispatch import receiver


@functools.cache
def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in settings.HUB_ENCRYPTION_KEYS])


@functools.cache
def _primary() -> Fernet:
    return Fernet(settings.HUB_ENCRYPTION_KEYS[0].encode())


@receiver(setting_changed)
def _forget_keys(*, setting, **kwargs) -> None:
    if setting == "HUB_ENCRYPTION_KEYS":
        _fernet.cache_clear()
        _primary.cache_clear()


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("cannot decrypt: wrong HUB_ENCRYPTION_KEYS or corrupted value") from exc


def encrypt_bytes(plaintext: bytes) -> bytes:
    return _fernet().encrypt(plaintext)


def decrypt_bytes(token: bytes) -> bytes:
    try:
        return _fernet().decrypt(token)
    except InvalidToken as exc:
        raise ValueError("cannot decrypt: wrong HUB_ENCRYPTION_KEYS or corrupted value") from exc


def reencrypt_bytes(token: bytes) -> bytes:
    try:
        return _fernet().rotate(token)
    except InvalidToken as exc:
        raise ValueError("cannot decrypt: wrong HUB_ENCRYPTION_KEYS or corrupted value") from exc


def reencrypt(token: str) -> str:
    """The same secret, encrypted with the first (current) key."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("cannot decrypt: wrong HUB_ENCRYPTION_KEYS or corrupted value") from exc


def under_current_key(token: str) -> bool:
    try:
        _primary().decrypt(token.encode())
    except InvalidToken:
        return False
    return True


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
