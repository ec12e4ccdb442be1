"""Interview packages and the assessments made from them. Knows nothing about any ATS."""

from django.db import models
from django.db.models import Q

from tenants.models import Tenant


class PackageType(models.TextChoices):
    INTERVIEW = "interview", "AI interview"
    SKILLS_TEST = "skills_test", "Skills test"
    PERSONALITY = "personality", "Personality test"
    VIDEO = "video", "Video interview"


class Package(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="packages")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    type = models.CharField(max_length=32, choices=PackageType.choices, default=PackageType.INTERVIEW)
    language = models.CharField(max_length=16, default="en")
    duration_minutes = models.PositiveIntegerField(default=30)
    expires_after_days = models.PositiveIntegerField(default=7, help_text="Days the candidate has (the due date).")
    reminder_after_hours = models.PositiveIntegerField(
        null=True, blank=True, default=48, help_text="Remind a candidate who has not started after this many hours."
    )
    reminder_before_hours = models.PositiveIntegerField(
        null=True, blank=True, default=24, help_text="Remind a candidate who has not started this long before the deadline."
    )
    pass_score_percent = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True,
        help_text="Scores at or above this share of the scale pass (drawn on the dashboard).",
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant", "name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="package_unique_tenant_name")]

    def __str__(self) -> str:
        return self.name


class Question(models.Model):
    """One question of a package; ``rubric`` lists what a good answer covers."""

    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveIntegerField(default=0)
    text = models.TextField()
    rubric = models.JSONField(default=list, blank=True, help_text="List of points a good answer covers.")
    weight = models.DecimalField(max_digits=6, decimal_places=2, default=1)
    max_points = models.PositiveIntegerField(default=10)

    class Meta:
        ordering = ["package", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["package", "position"], name="question_unique_package_position")
        ]

    def __str__(self) -> str:
        return self.text[:60]


class Mode(models.TextChoices):
    ORDER = "order", "Ordered in the ATS"
    TRIGGER = "trigger", "Stage mapping"
    MANUAL = "manual", "Created by hand"


class Status(models.TextChoices):
    ORDERED = "ordered", "Ordered"
    INVITED = "invited", "Invited"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"


OPEN_STATUSES = (Status.ORDERED, Status.INVITED, Status.IN_PROGRESS)


class Assessment(models.Model):
    """One candidate's interview. ``source`` is an opaque key of whoever ordered it (for example
    an ATS connection); together with the remote ids it makes ordering idempotent."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="assessments")
    package = models.ForeignKey(Package, on_delete=models.PROTECT, related_name="assessments")
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.MANUAL)
    source = models.CharField(max_length=64, blank=True, db_index=True)
    remote_order_id = models.CharField(max_length=128, blank=True)
    remote_application_id = models.CharField(max_length=128, blank=True)
    remote_candidate_id = models.CharField(max_length=128, blank=True)
    remote_job_id = models.CharField(max_length=128, blank=True)
    remote_job_title = models.CharField(max_length=300, blank=True)
    source_label = models.CharField(max_length=200, blank=True, help_text="Display name of the source (e.g. the ATS).")
    language = models.CharField(max_length=16, blank=True, help_text="The candidate's language, if the ATS says.")
    time_zone = models.CharField(max_length=64, blank=True, help_text="The candidate's time zone, if known.")
    callback_url = models.URLField(max_length=1000, blank=True)
    options = models.JSONField(default=dict, blank=True)

    candidate_first_name = models.CharField(max_length=150, blank=True)
    candidate_last_name = models.CharField(max_length=150, blank=True)
    candidate_email = models.EmailField(blank=True, db_index=True)
    candidate_phone = models.CharField(max_length=40, blank=True)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ORDERED, db_index=True)
    status_reason = models.CharField(max_length=300, blank=True)
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    invited_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    early_reminded_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    personal_data_purged_at = models.DateTimeField(null=True, blank=True)

    score_value = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    score_min = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    score_max = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    score_label = models.CharField(max_length=100, blank=True)
    summary = models.TextField(blank=True)
    transcript = models.JSONField(default=list, blank=True)
    details = models.JSONField(default=dict, blank=True)
    report_url = models.URLField(max_length=1000, blank=True)
    attachments = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "created_at"], name="assessment_tenant_created")]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "remote_order_id"],
                condition=~Q(remote_order_id=""),
                name="assessment_unique_source_order",
            ),
            models.UniqueConstraint(
                fields=["source", "remote_application_id", "package"],
                condition=~Q(remote_application_id="") & Q(status__in=OPEN_STATUSES),
                name="assessment_unique_open_per_application_package",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.package} for {self.candidate_name or 'candidate'}"

    @property
    def candidate_name(self) -> str:
        return f"{self.candidate_first_name} {self.candidate_last_name}".strip()

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class AssessmentEvent(models.Model):
    """One status change (or other notable step) of an assessment: who, what, when."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=16, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=Status.choices, blank=True)
    actor = models.CharField(max_length=100, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]


class TenantApiKey(models.Model):
    """A per-tenant secret for machine callers (the vendor's AI engine, unified APIs).

    Only ``prefix`` (a public lookup handle, the first characters of the raw key) and a SHA-256 of
    the whole key are stored; the raw key is shown once, when it is created. The raw key carries
    256 random bits, so a plain hash (no slow KDF) cannot be brute-forced.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=200)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["tenant", "-created_at"]
        verbose_name = "tenant API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AuditLog(models.Model):
    """Who did what to personal data. Holds no personal data itself: ``subject`` is an assessment
    id or the SHA-256 of an e-mail address, never the address."""

    tenant = models.ForeignKey(Tenant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    actor = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    subject = models.CharField(max_length=128, blank=True, db_index=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} {self.subject} by {self.actor or 'system'}"
