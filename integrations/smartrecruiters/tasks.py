"""SmartRecruiters tasks: thin transports taking ids."""

from celery import shared_task

from .services import smartrecruiters_subscription_delete


@shared_task(acks_late=True, bind=True, max_retries=5)
def smartrecruiters_unsubscribe(self, connection_id: int) -> None:
    if not smartrecruiters_subscription_delete(connection_id=connection_id):
        return
