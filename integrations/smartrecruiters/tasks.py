"""SmartRecruiters tasks: thin transports taking ids."""

import random

from celery import shared_task

from integrations.errors import ClientError

from .services import smartrecruiters_subscription_delete


@shared_task(acks_late=True, bind=True, max_retries=6)
def smartrecruiters_unsubscribe(self, connection_id: int) -> None:
    try:
        smartrecruiters_subscription_delete(connection_id=connection_id)
    except ClientError as exc:  # only retryable ones reach here
        raise self.retry(exc=exc, countdown=random.uniform(10, 60) * 2**self.request.retries)
