"""What the assessments app announces. Listeners (the integrations app) must not be imported here.

``assessment_status_changed`` is sent inside the transaction that moved the status, with
``assessment``, ``from_status``, ``to_status`` and ``actor``; a listener that writes rows (an outbox
Delivery) therefore commits or rolls back with the status change itself.
"""

from django.dispatch import Signal

assessment_status_changed = Signal()
