"""Every periodic task, declared once. Installed idempotently into django-celery-beat's tables
(after each `migrate`, and by `manage.py install_schedules`): a missing schedule is created, one an
admin has edited in the admin keeps the admin's interval and on/off switch."""

from dataclasses import dataclass

from django.db import transaction


@dataclass(frozen=True)
class Every:
    seconds: int


@dataclass(frozen=True)
class Daily:
    hour: int
    minute: int = 0


@dataclass(frozen=True)
class PeriodicTaskSpec:
    name: str
    task: str
    schedule: Every | Daily
    description: str


PERIODIC_TASKS: tuple[PeriodicTaskSpec, ...] = (
    PeriodicTaskSpec(
        "ATS polling sync",
        "integrations.tasks.sync_all",
        Every(3 * 3600),
        "Syncs every due active connection from its ATS (jobs, stages, candidates, applications), inviting "
        "stage moves a webhook missed; a full reconciliation once a day (SYNC_FULL_EVERY_HOURS).",
    ),
    PeriodicTaskSpec(
        "Sync reaper",
        "integrations.tasks.reap_sync_runs",
        Every(5 * 60),
        "Marks failed the sync runs that stopped making progress (a lost or stuck worker).",
    ),
    PeriodicTaskSpec(
        "Inbox sweeper",
        "integrations.tasks.sweep_inbox",
        Every(5 * 60),
        "Re-queues webhook events stored but left unprocessed (a lost task never loses an event).",
    ),
    PeriodicTaskSpec(
        "Outbox sweeper",
        "integrations.tasks.sweep_outbox",
        Every(60),
        "Sends ATS write-backs whose next attempt is due.",
    ),
    PeriodicTaskSpec(
        "Retention purge",
        "assessments.tasks.purge_personal_data",
        Daily(hour=3),
        "Removes candidate personal data older than each tenant's retention period.",
    ),
    PeriodicTaskSpec(
        "Integration data retention",
        "integrations.tasks.purge_integration_data",
        Daily(hour=3, minute=30),
        "Redacts webhook bodies, write-back payloads and errors, and mirrored candidates older than each "
        "tenant's retention period.",
    ),
    PeriodicTaskSpec(
        "Expire assessments",
        "assessments.tasks.expire_assessments",
        Every(15 * 60),
        "Moves open assessments past their deadline to expired.",
    ),
    PeriodicTaskSpec(
        "Invitation sweeper",
        "assessments.tasks.sweep_invitations",
        Every(10 * 60),
        "Sends invitations of orders whose own invitation task never ran.",
    ),
    PeriodicTaskSpec(
        "Invitation reminders",
        "assessments.tasks.send_reminders",
        Every(30 * 60),
        "Reminds candidates 24 hours (their package's setting) before their interview link expires.",
    ),
    PeriodicTaskSpec(
        "Not-started reminders",
        "assessments.tasks.send_early_reminders",
        Every(30 * 60),
        "Reminds invited candidates who have not started after their package's reminder_after_hours.",
    ),
)


def _schedule_kwargs(schedule: Every | Daily) -> dict:
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule

    if isinstance(schedule, Every):
        interval, _ = IntervalSchedule.objects.get_or_create(every=schedule.seconds, period=IntervalSchedule.SECONDS)
        return {"interval": interval}
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=str(schedule.minute), hour=str(schedule.hour), day_of_week="*", day_of_month="*",
        month_of_year="*", timezone="UTC",
    )
    return {"crontab": crontab}


def install_periodic_tasks() -> list[str]:
    """Create the declared schedules that are missing; returns the names created."""
    from django_celery_beat.models import PeriodicTask

    created = []
    with transaction.atomic():
        for spec in PERIODIC_TASKS:
            task = PeriodicTask.objects.filter(name=spec.name).first()
            if task is None:
                PeriodicTask.objects.create(
                    name=spec.name, task=spec.task, description=spec.description, **_schedule_kwargs(spec.schedule)
                )
                created.append(spec.name)
            elif task.task != spec.task:
                task.task = spec.task
                task.save(update_fields=["task"])
    return created
