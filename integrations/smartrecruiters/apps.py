from django.apps import AppConfig


class SmartRecruitersConfig(AppConfig):
    name = "integrations.smartrecruiters"
    label = "smartrecruiters"
    verbose_name = "SmartRecruiters"

    def ready(self) -> None:
        # Registers the provider under "smartrecruiters" for the shared machinery.
        from . import provider  # noqa: F401
