from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Tenants"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import checks  # noqa: F401  (registers the deploy checks)

        post_migrate.connect(_install_schedules, dispatch_uid="stagehook_install_schedules")


def _install_schedules(sender, app_config=None, using="default", **kwargs) -> None:
    # Runs once per migrate, after django-celery-beat's own tables exist.
    if app_config is None or app_config.label != "django_celery_beat":
        return
    from config.schedules import install_periodic_tasks

    install_periodic_tasks()
