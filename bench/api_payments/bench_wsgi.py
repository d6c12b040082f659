"""``hub.wsgi`` for run.py, with an optional per-worker cProfile (``--server-profile``).

With BENCH_CPROFILE_DIR set, each gunicorn worker profiles the requests it serves
and writes ``worker-<pid>.prof`` there when it exits; otherwise this is hub.wsgi. The
profiler's clock is the process's CPU time: waiting for PostgreSQL or Redis costs
nothing, so the profile shows what the worker spends its CPU on.
"""

import atexit
import cProfile
import os
import time

from hub.wsgi import application as hub_application

PROFILE_DIR = os.environ.get("BENCH_CPROFILE_DIR")

if PROFILE_DIR:
    _profiler = cProfile.Profile(time.process_time)

    def application(environ, start_response):
        _profiler.enable()
        try:
            return list(hub_application(environ, start_response))
        finally:
            _profiler.disable()

    @atexit.register
    def _dump() -> None:
        _profiler.dump_stats(os.path.join(PROFILE_DIR, f"worker-{os.getpid()}.prof"))

else:
    application = hub_application
