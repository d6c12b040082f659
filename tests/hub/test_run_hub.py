"""``make run``'s process supervisor: a kill of it stops the web server, worker and beat."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _descendants(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread or process ended while we looked
        for child in map(int, children):
            found |= {child} | _descendants(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has exited; only its exit status is left


def _wait_until_healthy(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"{url} never answered 200")


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc (Linux)")
def test_terminating_run_hub_stops_every_process_it_started(tmp_path):
    # The embedded defaults, as `make run` on a fresh machine: SQLite and a folder broker.
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env["HUB_VAR_DIR"] = str(tmp_path)
    manage = [sys.executable, "manage.py"]
    subprocess.run(
        [*manage, "migrate", "--noinput"], cwd=REPO, env=env, check=True, capture_output=True
    )
    port = _free_port()
    hub = subprocess.Popen(
        [*manage, "run_hub", "--no-demo", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started: set[int] = set()
    try:
        _wait_until_healthy(f"http://127.0.0.1:{port}/api/v1/health", time.monotonic() + 90)
        started = _descendants(hub.pid)
        assert len(started) >= 3  # web server, worker (and its pool), beat

        hub.send_signal(signal.SIGTERM)
        hub.wait(timeout=30)

        deadline = time.monotonic() + 15
        while any(map(_alive, started)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [pid for pid in started if _alive(pid)]
    finally:
        # Whatever it started, even if the test failed before it looked.
        started |= _descendants(hub.pid) if _alive(hub.pid) else set()
        for pid in [*started, hub.pid]:
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)  # a failed run must not leave servers behind
        hub.wait(timeout=10)
