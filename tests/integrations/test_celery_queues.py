"""Two Celery queues: the trigger path (webhook events, invitations) on the default queue, the
work paced by an ATS's rate limit or long by nature (write-backs, syncs, purges) on the background
queue; a worker started without -Q consumes both, the trigger queue first."""

from celery import current_app
from django.conf import settings

import assessments.tasks
import integrations.tasks
from config import celery as celery_config


def routed_queue(task) -> str:
    """The queue a publish of ``task`` goes to, as the app's router decides it."""
    options = current_app.amqp.router.route({}, task.name, args=(1,), kwargs={})
    return options["queue"].name


def test_the_trigger_path_stays_on_the_default_queue():
    default = current_app.conf.task_default_queue
    for task in (integrations.tasks.process_webhook_event, assessments.tasks.send_invitation,
                 assessments.tasks.sweep_invitations, integrations.tasks.sweep_outbox):
        assert routed_queue(task) == default, task.name


def test_write_backs_and_syncs_go_to_the_background_queue():
    background = celery_config.background_queue()
    assert background == f"{current_app.conf.task_default_queue}.background"
    for task in (integrations.tasks.deliver, integrations.tasks.sync_connection, integrations.tasks.sync_all,
                 integrations.tasks.purge_integration_data, assessments.tasks.purge_personal_data):
        assert routed_queue(task) == background, task.name


def test_every_routed_task_exists():
    current_app.loader.import_default_modules()
    assert celery_config.BACKGROUND_TASKS <= set(current_app.tasks)


def test_a_queue_of_a_test_or_benchmark_of_its_own_brings_its_background_queue(settings):
    previous = current_app.conf.task_default_queue
    current_app.conf.task_default_queue = "e2e-1234"
    try:
        assert routed_queue(integrations.tasks.deliver) == "e2e-1234.background"
        assert routed_queue(integrations.tasks.process_webhook_event) == "e2e-1234"
    finally:
        current_app.conf.task_default_queue = previous
    settings.CELERY_BACKGROUND_QUEUE = "ats-calls"  # set explicitly: used as is
    assert routed_queue(integrations.tasks.deliver) == "ats-calls"


def test_a_worker_without_q_consumes_both_trigger_first():
    names = set(current_app.amqp.queues)
    assert {settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_BACKGROUND_QUEUE} <= names
    # Redis consumes queues in sorted order: the trigger queue is asked first.
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["queue_order_strategy"] == "sorted"
    assert sorted([settings.CELERY_BACKGROUND_QUEUE, settings.CELERY_TASK_DEFAULT_QUEUE])[0] == settings.CELERY_TASK_DEFAULT_QUEUE
