"""Helpers every benchmark script shares: stable secrets, its database, the machine's load.

The scripts run as ``python bench/<name>/run.py`` and put this folder on ``sys.path``.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path


def use_stable_secrets(keys_file: Path) -> None:
    """SECRET_KEY and the encryption keys from ``keys_file``, generated on first use.

    DEBUG=0 refuses to start without them, and they must stay the same across runs so
    that rows an earlier run encrypted can still be read (and deleted)."""
    if not keys_file.exists():
        from cryptography.fernet import Fernet

        keys_file.write_text(
            json.dumps(
                {
                    "SECRET_KEY": secrets.token_urlsafe(50),
                    "HUB_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                    "HUB_IDENTIFIER_HMAC_KEY": secrets.token_hex(32),
                }
            )
        )
        keys_file.chmod(0o600)
    for name, value in json.loads(keys_file.read_text()).items():
        os.environ.setdefault(name, value)


def ensure_database(url: str) -> None:
    """CREATE DATABASE if the PostgreSQL database in ``url`` does not exist."""
    from urllib.parse import urlsplit

    import psycopg

    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        raise SystemExit("DATABASE_URL must be PostgreSQL: the benchmarks measure production")
    name = parts.path.lstrip("/")
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def busy_cpus(seconds: float = 1.0) -> float:
    """How many CPUs other work keeps busy right now (from /proc/stat; Linux only)."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            values = [int(v) for v in stat.readline().split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        return sum(values) - idle, sum(values)

    try:
        busy0, total0 = sample()
        time.sleep(seconds)
        busy1, total1 = sample()
    except OSError:
        return float("nan")
    return (busy1 - busy0) / max(1, total1 - total0) * (os.cpu_count() or 1)
