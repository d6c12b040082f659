"""Helpers for fault tests: a Redis of the test's own that it can stop and start, and a
way to point this process's cache and Celery app at another Redis (or at nothing)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.test import override_settings
from kombu import pools as kombu_pools

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
            "OPTIONS": settings.REDIS_CACHE_OPTIONS,
        }
    }


@contextmanager
def celery_broker(url: str):
    """Point this process's Celery app (what ``.delay()`` publishes to) at ``url``."""
    conf = celery_app.conf
    saved = conf.broker_url, conf.broker_transport_options

    def reset_pools():
        # The app caches its connection and producer pools on first use, and kombu keeps
        # them in its own registry keyed by broker URL: closing one without clearing that
        # registry hands the closed pool back to the next user of the same URL ("Acquire
        # on closed pool"). kombu.pools.reset closes and forgets them all.
        kombu_pools.reset()
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    reset_pools()
    # Celery prefers the CELERY_BROKER_URL environment variable to its configuration.
    saved_env = os.environ.get("CELERY_BROKER_URL")
    os.environ["CELERY_BROKER_URL"] = url
    conf.broker_url = url
    conf.broker_transport_options = settings.CELERY_REDIS_TRANSPORT_OPTIONS
    try:
        yield
    finally:
        reset_pools()
        conf.broker_url, conf.broker_transport_options = saved
        if saved_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = saved_env


@contextmanager
def redis_at(url: str):
    """Cache and broker both at ``url`` (db n for the cache, n+1 for the broker)."""
    base, db = url.rsplit("/", 1)
    shared_cache.reset()
    with override_settings(CACHES=redis_cache(url)), celery_broker(f"{base}/{int(db) + 1}"):
        yield
    shared_cache.reset()


REPO = Path(__file__).resolve().parents[2]


def subprocess_env(redis: RedisServer, **extra: str) -> dict[str, str]:
    """The environment of a worker or beat working on this test's database and Redis,
    with the sweepers made fast enough for a test (seconds, not minutes)."""
    import sys

    from django.db import connection

    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PYTEST_", "CELERY_", "HUB_")) and key != "REDIS_URL"
    }
    env.update(
        {
            "DATABASE_URL": (
                f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:"
                f"{db['PORT'] or 5432}/{db['NAME']}"
            ),
            "REDIS_URL": redis.url(0),
            "CELERY_BROKER_URL": redis.url(1),
            # The same folder as this process: the same generated dev keys (encryption).
            "HUB_VAR_DIR": str(settings.VAR_DIR),
            "HUB_OUTBOX_SWEEP_SECONDS": "1",
            "HUB_COLLECTION_SWEEP_SECONDS": "1",
            "HUB_COLLECTION_STALLED_AFTER_SECONDS": "3",
            "HUB_WEBHOOK_LEASE_SECONDS": "5",
            "PYTHONPATH": str(REPO),
            "PYTHONUNBUFFERED": "1",
            **extra,
        }
    )
    env["_PYTHON"] = sys.executable
    return env


class CeleryProcess:
    """``celery -A hub worker`` or ``beat`` as production runs it: its own process group,
    so a SIGKILL takes the main process and its pool children at once (a crashed host)."""

    _count = 0

    def __init__(self, kind: str, env: dict[str, str], logdir: Path) -> None:
        CeleryProcess._count += 1
        self.kind = kind
        self.env = dict(env)
        self.python = self.env.pop("_PYTHON")
        self.name = f"{kind}{CeleryProcess._count}"
        self.log_path = logdir / f"{self.name}.log"
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        celery = [self.python, "-m", "celery", "-A", "hub"]
        if self.kind == "worker":
            return [
                *celery, "worker", "--pool", "prefork", "--concurrency", "2",
                "--loglevel", "INFO", "--without-mingle", "--without-gossip",
                "-n", f"{self.name}@%h",
            ]  # fmt: skip
        return [
            *celery, "beat", "--loglevel", "INFO", "--max-interval", "1",
            "-S", "django_celery_beat.schedulers:DatabaseScheduler", "--pidfile=",
        ]  # fmt: skip

    def start(self, wait: bool = True) -> CeleryProcess:
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.command(),
            cwd=REPO,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self.wait_ready() if wait else self

    def wait_ready(self, ready_timeout: float = 30.0) -> CeleryProcess:
        ready = b" ready." if self.kind == "worker" else b"beat: Starting"
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if ready in self.log_path.read_bytes():
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start:\n{self.tail()}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown, no acknowledgement, no cleanup."""
        import signal

        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """End of test: nothing it does now matters, so no warm shutdown to wait for
        (and no pool child may outlive its main process)."""
        self.kill()
        self.log.close()

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def wait_until(predicate, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
