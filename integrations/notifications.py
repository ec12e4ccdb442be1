"""E-mails to a tenant's admins about their connections. Transport only: what to send and when is
decided by the caller (integrations.sync.sync_failure_check sends one per change to
"needs attention")."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string

from tenants.models import Membership, Role

from .models import Connection, ConnectionStatus

logger = logging.getLogger(__name__)


def tenant_admin_emails(*, tenant_id: int) -> list[str]:
    emails = (
        Membership.objects.filter(tenant_id=tenant_id, role=Role.ADMIN, user__is_active=True)
        .exclude(user__email="")
        .order_by("user__email")
        .values_list("user__email", flat=True)
    )
    return list(dict.fromkeys(emails))


def connection_attention_notify(*, connection_id: int) -> int:
    """E-mail each admin of the connection's tenant that it needs attention; returns the number
    sent (0 when it no longer does, e.g. fixed before the task ran)."""
    connection = Connection.objects.select_related("tenant").filter(pk=connection_id).first()
    if connection is None or connection.status != ConnectionStatus.NEEDS_ATTENTION:
        return 0
    recipients = tenant_admin_emails(tenant_id=connection.tenant_id)
    if not recipients:
        logger.warning(
            "connection %s needs attention but tenant %s has no admin to tell", connection.pk, connection.tenant_id
        )
        return 0
    context = {
        "connection": connection,
        "tenant_name": connection.tenant.name,
        "provider": connection.provider.title(),
        "reason": connection.status_reason,
        "connections_url": f"{settings.SITE_URL}/app/connections/",
    }
    subject = " ".join(render_to_string("integrations/email/connection_needs_attention_subject.txt", context).split())
    body = render_to_string("integrations/email/connection_needs_attention.txt", context)
    for email in recipients:
        EmailMessage(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[email]).send()
    logger.info("connection %s: needs-attention e-mail sent to %d admin(s)", connection.pk, len(recipients))
    return len(recipients)
