"""The Celery application: configured from Django settings (``CELERY_*``)."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("stagehook")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.after_setup_logger.connect
@signals.after_setup_task_logger.connect
def _redact_worker_logs(logger, **kwargs):
    """The worker's own handlers (it replaces the root logger's) redact like Django's (config.logredact)."""
    from .logredact import install_on

    install_on(logger)


# Tasks on the background queue (settings.CELERY_BACKGROUND_QUEUE): paced by an ATS's rate limit or
# long by nature. Everything else (the trigger path: webhook events, invitations, e-mail) stays on
# the default queue. docs/ARCHITECTURE.md, "Celery queues".
BACKGROUND_TASKS = frozenset({
    "integrations.tasks.deliver",
    "integrations.tasks.sync_connection",
    "integrations.tasks.sync_all",
    "integrations.tasks.purge_integration_data",
    "assessments.tasks.purge_personal_data",
    "integrations.smartrecruiters.tasks.smartrecruiters_unsubscribe",
    "integrations.smartrecruiters.tasks.smartrecruiters_disconnect_check",
})


def background_queue() -> str:
    """The background queue's name: ``CELERY_BACKGROUND_QUEUE`` when set, else the default
    queue's name (as configured now: a test or benchmark may give the app a queue of its own) +
    ``.background``."""
    from django.conf import settings

    default = app.conf.task_default_queue
    derived = f"{settings.CELERY_TASK_DEFAULT_QUEUE}.background"
    if settings.CELERY_BACKGROUND_QUEUE != derived:
        return settings.CELERY_BACKGROUND_QUEUE
    return f"{default}.background"


def route_task(name, args, kwargs, options, task=None, **kw):
    """``CELERY_TASK_ROUTES``: a background task to the background queue; None = the default queue."""
    if name in BACKGROUND_TASKS:
        return {"queue": background_queue()}
    return None
