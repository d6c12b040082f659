"""Files the hub writes that hold personal data (pain.008 bank files: debtors' names
and IBANs) are encrypted on disk, and readable only through the hub.

``EncryptedFileSystemStorage`` encrypts with hub/crypto.py (Fernet, the same keys as
the database's encrypted fields) when a file is saved and decrypts when it is opened,
so code that uses ``run.file.open()`` reads the plain file and a copy of the media
directory (a backup, a mis-set web server) shows ciphertext. Files are mode 0600 in
0700 directories. A file written before encryption (plain XML) still opens as it is;
``manage.py reencrypt_secrets`` encrypts it and moves encrypted ones to the current key.
"""

from __future__ import annotations

import os

from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, storages

from hub.crypto import decrypt_bytes, encrypt_bytes, reencrypt_bytes, under_current_key

FERNET_PREFIX = b"gAAAAA"  # every Fernet token starts so (version byte, then time)


class EncryptedFileSystemStorage(FileSystemStorage):
    def __init__(self, **options):
        options.setdefault("file_permissions_mode", 0o600)
        options.setdefault("directory_permissions_mode", 0o700)
        super().__init__(**options)

    def _save(self, name, content):
        content.seek(0)
        return super()._save(name, ContentFile(encrypt_bytes(content.read())))

    def _open(self, name, mode="rb"):
        if "w" in mode or "a" in mode or "+" in mode:
            raise ValueError("encrypted files are written with save(), not opened for writing")
        with super()._open(name, "rb") as stored:
            raw = stored.read()
        return ContentFile(_plain(raw), name=name)

    def stored_bytes(self, name) -> bytes:
        """The bytes on disk (ciphertext): for key rotation and tests."""
        with super()._open(name, "rb") as stored:
            return stored.read()

    def rewrite_under_current_key(self, name) -> bool:
        """Encrypt a plain (older) file, or re-encrypt one not under the current key.
        True when the file changed."""
        raw = self.stored_bytes(name)
        if raw.startswith(FERNET_PREFIX):
            if under_current_key(raw.decode("ascii")):
                return False
            token = reencrypt_bytes(raw)
        else:
            token = encrypt_bytes(raw)
        # A new file renamed over the old one: a crash leaves the old file, not half.
        path = self.path(name)
        temporary = f"{path}.rotating"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as stored:
            stored.write(token)
            stored.flush()
            os.fsync(stored.fileno())
        os.replace(temporary, path)
        return True


def _plain(raw: bytes) -> bytes:
    if raw.startswith(FERNET_PREFIX):
        return decrypt_bytes(raw)
    return raw  # written before bank files were encrypted


def bank_file_storage():
    return storages["bank_files"]
