"""Settings of the benchmark's gunicorn server only (``DJANGO_SETTINGS_MODULE=bench.settings``):
production's settings, with the bench-only baseline views mounted beside the real URLs. Never used
by the ``web`` process, so the baseline URLs do not exist in production."""

from config.settings import *  # noqa: F401,F403

ROOT_URLCONF = "bench.urls"
