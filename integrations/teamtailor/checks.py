"""Deploy checks of the Teamtailor integration (``manage.py check --deploy``)."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def check_partner_webhook_secret(app_configs, **kwargs):
    errors = []
    if not settings.TEAMTAILOR_PARTNER_WEBHOOK_SECRET:
        errors.append(
            Error(
                "TEAMTAILOR_PARTNER_WEBHOOK_SECRET is not set: Teamtailor partner calls (trigger, result-card "
                "actions) could not be verified, and are refused.",
                hint="Set it to the partner webhook secret from Teamtailor's partner settings.",
                id="stagehook.E020",
            )
        )
    if settings.TEAMTAILOR_ALLOW_UNSIGNED_PARTNER_CALLS:
        errors.append(
            Error(
                "TEAMTAILOR_ALLOW_UNSIGNED_PARTNER_CALLS is on: unsigned Teamtailor partner calls are accepted.",
                hint="Local development only; remove it in production.",
                id="stagehook.E021",
            )
        )
    return errors
