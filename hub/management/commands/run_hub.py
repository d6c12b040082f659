"""``make run``: the web server, a Celery worker and beat, together; Ctrl-C stops all."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the API and admin, a Celery worker and the beat scheduler for development."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")
        parser.add_argument("--no-demo", action="store_true")

    def handle(self, *args, host, port, no_demo, **options):
        if not no_demo:
            call_command("load_demo", stdout=self.stdout)
        base = f"http://{host}:{port}"
        python = sys.executable
        celery = [python, "-m", "celery", "-A", "hub"]
        commands = {
            "web": [python, "manage.py", "runserver", f"{host}:{port}", "--noreload"],
            "worker": [*celery, "worker", "--loglevel", "INFO", "--concurrency", "2"],
            "beat": [
                *celery,
                "beat",
                "--loglevel",
                "INFO",
                "--scheduler",
                "django_celery_beat.schedulers:DatabaseScheduler",
            ],
        }
        env = {**os.environ, "HUB_PUBLIC_URL": os.environ.get("HUB_PUBLIC_URL", base)}
        # The processes write their metric samples to files there (hub/observability/
        # metrics.py); samples of a previous run's processes would be added to this one's.
        for stale in settings.HUB_METRICS_DIR.glob("*.db"):
            stale.unlink(missing_ok=True)
        # The children run in sessions of their own (a Ctrl-C meant for them reaches
        # this process only), so a kill of this process must stop them as Ctrl-C does.
        signal.signal(signal.SIGTERM, _interrupt)
        signal.signal(signal.SIGHUP, _interrupt)
        processes = {
            name: subprocess.Popen(cmd, env=env, start_new_session=True)  # noqa: S603
            for name, cmd in commands.items()
        }
        self.stdout.write(
            "\n"
            f"  Admin     {base}/admin/   (operator / demo-pass-1234)\n"
            f"  API docs  {base}/api/v1/docs\n"
            f"  Health    {base}/api/v1/health\n"
            f"  Try       curl -H 'Authorization: Bearer <API key above>' {base}/api/v1/services\n"
            "  Ctrl-C stops the web server, worker and scheduler.\n"
        )
        try:
            while all(p.poll() is None for p in processes.values()):
                time.sleep(0.5)
            dead = [name for name, p in processes.items() if p.poll() is not None]
            self.stderr.write(f"{', '.join(dead)} stopped; shutting the rest down")
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            for process in processes.values():
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
            for process in processes.values():
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)


def _interrupt(signum, frame):
    raise KeyboardInterrupt
