from django.apps import AppConfig


class TeamtailorConfig(AppConfig):
    name = "integrations.teamtailor"
    label = "teamtailor"
    verbose_name = "Teamtailor"
