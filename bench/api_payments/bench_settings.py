"""The hub's own settings with the benchmark's URLconf (``bench_urls``) as the root.

Only ``run.py`` uses this module (with bench/api_payments on the Python path): the
hub's URLs and middleware are unchanged, and the baseline view never reaches the
project's URLs.
"""

from hub.settings import *  # noqa: F403

ROOT_URLCONF = "bench_urls"
