from django.apps import AppConfig


class TeamtailorConfig(AppConfig):
    name = "integrations.teamtailor"
    label = "teamtailor"
    verbose_name = "Teamtailor"

    def ready(self) -> None:
        # Registers the provider under "teamtailor" for the shared machinery.
        from . import checks, provider  # noqa: F401
