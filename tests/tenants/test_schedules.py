import pytest
from django_celery_beat.models import PeriodicTask

from config.schedules import PERIODIC_TASKS, install_periodic_tasks

pytestmark = pytest.mark.django_db


def test_migrate_installed_every_declared_schedule():
    names = set(PeriodicTask.objects.values_list("name", flat=True))
    assert {spec.name for spec in PERIODIC_TASKS} <= names
    sync = PeriodicTask.objects.get(name="ATS polling sync")
    assert sync.task == "integrations.tasks.sync_all"
    assert sync.interval.every == 3 * 3600


def test_installing_again_creates_nothing_and_keeps_admin_edits():
    task = PeriodicTask.objects.get(name="Outbox sweeper")
    task.enabled = False
    task.save()
    assert install_periodic_tasks() == []
    assert PeriodicTask.objects.filter(name="Outbox sweeper").count() == 1
    assert PeriodicTask.objects.get(name="Outbox sweeper").enabled is False


def test_a_deleted_schedule_comes_back():
    PeriodicTask.objects.filter(name="Retention purge").delete()
    assert install_periodic_tasks() == ["Retention purge"]
    purge = PeriodicTask.objects.get(name="Retention purge")
    assert (purge.crontab.hour, purge.crontab.minute) == ("3", "0")


def test_every_scheduled_task_is_a_registered_celery_task():
    from config.celery import app

    app.loader.import_default_modules()
    for spec in PERIODIC_TASKS:
        assert spec.task in app.tasks, spec.task
