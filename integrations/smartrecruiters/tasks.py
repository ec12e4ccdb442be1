"""SmartRecruiters tasks: thin transports taking ids."""

import random

from celery import shared_task

from integrations.errors import ClientError

from . import services


@shared_task(acks_late=True, bind=True, max_retries=6)
def smartrecruiters_unsubscribe(self, connection_id: int) -> None:
    try:
        services.smartrecruiters_subscription_delete(connection_id=connection_id)
    except ClientError as exc:  # only retryable ones reach here
        raise self.retry(exc=exc, countdown=random.uniform(10, 60) * 2**self.request.retries)


@shared_task(acks_late=True, bind=True, max_retries=6)
def smartrecruiters_disconnect_check(self, connection_id: int) -> None:
    try:
        services.smartrecruiters_disconnect_check(connection_id=connection_id)
    except ClientError as exc:  # SmartRecruiters down or busy: ask again later
        raise self.retry(exc=exc, countdown=random.uniform(10, 60) * 2**self.request.retries)


@shared_task(acks_late=True)
def smartrecruiters_own_app_attention(connection_id: int, reason: str, drop_tokens: bool = False) -> None:
    from .own_app import own_app_attention_set

    own_app_attention_set(connection_id=connection_id, reason=reason, drop_tokens=drop_tokens)
