"""What the assessments app announces. Listeners (the integrations app) must not be imported here.

``assessment_status_changed`` is sent inside the transaction that moved the status, with
``assessment``, ``from_status``, ``to_status`` and ``actor``; a listener that writes rows (an outbox
Delivery) therefore commits or rolls back with the status change itself.
"""

from django.dispatch import Signal

assessment_status_changed = Signal()

candidate_erasure_requested = Signal()
"""Sent by ``assessments.retention.candidate_erase`` inside its transaction, with ``email`` (lower-cased),
``email_sha256``, ``tenant`` (a Tenant, or None for every tenant), ``actor`` and ``assessment_ids`` (the
ids of the assessments just erased, already scrubbed when the signal is sent; open ones were cancelled
first) and ``phones`` (their phone numbers, read before the scrub). Listeners erase the candidate's personal data from their own tables (the integrations app: its
mirror of remote candidates and applications, the webhook events about the candidate, and the
write-backs of those assessments) and return the number of rows they changed; the total is written
to the audit row.
A listener that raises rolls the whole erasure back, so a request is never half-done."""
