"""Helpers for fault tests: a Redis of the test's own that it can stop and start, and a
way to point this process's cache and Celery app at another Redis (or at nothing)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.test import override_settings

from hub.api.throttling import shared_cache
from hub.celery import app as celery_app


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stopped_redis_url(db: int = 0) -> str:
    """A Redis URL at a port nothing listens on: a Redis that is down."""
    return f"redis://127.0.0.1:{free_port()}/{db}"


class RedisServer:
    """A redis-server on a free port, without persistence, that a test may stop and start
    again on the same port (as an outage would)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        """As an outage: the server goes away, with everything it held in memory."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


def redis_cache(url: str) -> dict:
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "OPTIONS": settings.CACHES["default"].get("OPTIONS", {}),
        }
    }


@contextmanager
def celery_broker(url: str):
    """Point this process's Celery app (what ``.delay()`` publishes to) at ``url``."""
    conf = celery_app.conf
    saved = conf.broker_url, conf.broker_transport_options

    def reset_pools():
        # The app caches its connection and producer pools on first use.
        if celery_app._pool is not None:
            celery_app._pool.force_close_all()
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    reset_pools()
    conf.broker_url = url
    conf.broker_transport_options = settings.CELERY_REDIS_TRANSPORT_OPTIONS
    try:
        yield
    finally:
        reset_pools()
        conf.broker_url, conf.broker_transport_options = saved


@contextmanager
def redis_at(url: str):
    """Cache and broker both at ``url`` (db n for the cache, n+1 for the broker)."""
    base, db = url.rsplit("/", 1)
    shared_cache.reset()
    with override_settings(CACHES=redis_cache(url)), celery_broker(f"{base}/{int(db) + 1}"):
        yield
    shared_cache.reset()
