"""The hub's settings plus ``CELERY_DB_REUSE_MAX``, for ``run.py --db-reuse N`` only.

Celery 5.7's Django fix-up closes every database connection before and after each
task (celery/celery#9824 reverted honouring ``CONN_MAX_AGE``), so each task opens a
new PostgreSQL connection, unless ``CELERY_DB_REUSE_MAX`` is set: then it closes them
only every N tasks. This module lets the benchmark measure what that setting would
change without touching ``hub/settings.py``.
"""

import os

from hub.settings import *  # noqa: F403

CELERY_DB_REUSE_MAX = int(os.environ["BENCH_CELERY_DB_REUSE_MAX"])
