"""Domain errors of the assessments app. Callers (views, tasks, the integrations app) branch on
``code``, never on the message text."""

from django.db import models


class AssessmentErrorCode(models.TextChoices):
    TENANT_INACTIVE = "TENANT_INACTIVE", "Tenant is inactive"
    PACKAGE_NOT_FOUND = "PACKAGE_NOT_FOUND", "Package does not belong to the tenant"
    PACKAGE_INACTIVE = "PACKAGE_INACTIVE", "Package is inactive"
    INVALID_MODE = "INVALID_MODE", "Unknown mode"
    NO_CONTACT = "NO_CONTACT", "Candidate has neither e-mail nor phone"
    INVALID_CANDIDATE = "INVALID_CANDIDATE", "Candidate data is invalid"
    INVALID_ORDER = "INVALID_ORDER", "Order data is invalid"
    SOURCE_CONFLICT = "SOURCE_CONFLICT", "The order id belongs to another tenant"
    ILLEGAL_TRANSITION = "ILLEGAL_TRANSITION", "Status change not allowed"
    EXPIRED = "EXPIRED", "Assessment has expired"
    INVALID_RESULT = "INVALID_RESULT", "Result is invalid"
    INVALID_ANSWERS = "INVALID_ANSWERS", "Answers are invalid"
    INVITATION_UNDELIVERABLE = "INVITATION_UNDELIVERABLE", "Invitation address invalid or refused"
    INVITATION_TEMPORARY = "INVITATION_TEMPORARY", "Invitation could not be delivered for now"


class AssessmentError(Exception):
    """A request the assessments domain refuses; ``code`` is an :class:`AssessmentErrorCode`."""

    def __init__(self, code: AssessmentErrorCode, message: str = ""):
        self.code = code
        self.message = message or code.label
        super().__init__(f"{code.value}: {self.message}")


class IllegalTransition(AssessmentError):
    def __init__(self, from_status: str, to_status: str, message: str = ""):
        self.from_status = from_status
        self.to_status = to_status
        super().__init__(
            AssessmentErrorCode.ILLEGAL_TRANSITION,
            message or f"cannot move from {_shown(from_status)} to {_shown(to_status)}",
        )


def _shown(status) -> str:
    """A status as people read it (``completed``), never its Python repr (``Status.COMPLETED``)."""
    return str(getattr(status, "value", status))


class InvitationUndeliverable(AssessmentError):
    """The address itself is bad (invalid, refused, bounced): retrying cannot help."""

    def __init__(self, message: str):
        super().__init__(AssessmentErrorCode.INVITATION_UNDELIVERABLE, message)


class InvitationTemporaryFailure(AssessmentError):
    """The channel is down or slow: the same invitation may succeed later."""

    def __init__(self, message: str):
        super().__init__(AssessmentErrorCode.INVITATION_TEMPORARY, message)
