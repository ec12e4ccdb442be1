from django.apps import AppConfig


class SmartRecruitersConfig(AppConfig):
    name = "integrations.smartrecruiters"
    label = "smartrecruiters"
    verbose_name = "SmartRecruiters"
