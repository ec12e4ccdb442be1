"""ATS connections and every integration input and output as a row: the inbox, the outbox, the
remote mirror and the sync runs."""

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper

from assessments.models import Assessment, Package
from tenants.fields import EncryptedJSONField
from tenants.models import Tenant


def secret_hash(value: str) -> str:
    """Lookup hash of a high-entropy secret (provider keys, tokens): never the secret itself."""
    return hashlib.sha256(value.encode()).hexdigest()


class ConnectionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACTIVE = "active", "Active"
    NEEDS_ATTENTION = "needs_attention", "Needs attention"
    DISCONNECTED = "disconnected", "Disconnected"


class Connection(models.Model):
    """One tenant's link to one ATS account. ``credentials`` is encrypted as a whole."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="connections")
    provider = models.CharField(max_length=32, db_index=True)
    name = models.CharField(max_length=200, blank=True)
    remote_account_id = models.CharField(
        max_length=128, blank=True, help_text="SmartRecruiters company id / Teamtailor company uuid."
    )
    status = models.CharField(max_length=20, choices=ConnectionStatus.choices, default=ConnectionStatus.PENDING)
    status_reason = models.CharField(max_length=300, blank=True)
    region = models.CharField(max_length=2, blank=True)
    api_base_url = models.URLField(max_length=300, blank=True)
    credentials = EncryptedJSONField(blank=True)
    provider_key_hash = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    connection_token_hash = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    subscription_ids = models.JSONField(default=dict, blank=True)
    sync_cursors = models.JSONField(default=dict, blank=True)
    sync_enabled = models.BooleanField(default=True, help_text="Off: the scheduled sync skips this connection (paused).")
    sync_interval_minutes = models.PositiveIntegerField(
        null=True, blank=True,
        help_text="Minutes between scheduled syncs of this connection; empty: the default (SYNC_INTERVAL_MINUTES).",
    )
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant", "provider"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "remote_account_id"],
                condition=~Q(remote_account_id=""),
                name="connection_unique_provider_account",
            )
        ]

    def __str__(self) -> str:
        return self.name or f"{self.provider} for {self.tenant}"

    @property
    def source_key(self) -> str:
        """The opaque key assessments made through this connection carry in ``Assessment.source``."""
        return f"connection:{self.pk}"


class StageMapping(models.Model):
    """Candidates entering ``remote_stage_id`` (optionally a sub-status) get ``package``.
    A blank ``remote_job_id`` is the default for every job; a job's own rows override it, and rows
    for a sub-status override those for its stage as a whole. Several rows (packages) may share one
    stage. A row without a package says "no interview here" (a job's override of the default).

    Score rules, applied when the interview completes: score >= ``advance_threshold`` moves the
    application to ``advance_to_stage_id``; score < ``fail_threshold`` moves it to
    ``fail_to_stage_id``, or, with that blank, only adds a note. Target stages are mirror
    ``RemoteStage.remote_id`` values (a sub-stage's id names its status and sub-status)."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="stage_mappings")
    remote_job_id = models.CharField(max_length=128, blank=True)
    remote_stage_id = models.CharField(max_length=128)
    remote_sub_status = models.CharField(max_length=128, blank=True)
    # The stage's name when the mapping was saved: a later rename in the ATS is flagged, never followed.
    remote_stage_name = models.CharField(max_length=200, blank=True)
    package = models.ForeignKey(Package, on_delete=models.PROTECT, related_name="stage_mappings", null=True, blank=True)
    active = models.BooleanField(default=True)
    reinvite_on_reentry = models.BooleanField(
        default=False, help_text="Invite again when a candidate re-enters the stage after an earlier interview."
    )
    advance_threshold = models.PositiveIntegerField(null=True, blank=True, help_text="Pass threshold, 0-100.")
    advance_to_stage_id = models.CharField(max_length=128, blank=True)
    fail_threshold = models.PositiveIntegerField(null=True, blank=True, help_text="Fail threshold, 0-100.")
    fail_to_stage_id = models.CharField(max_length=128, blank=True)
    # Set by the sync when a complete listing of the ATS's stages no longer has this stage (removed
    # in the ATS); cleared when it shows up again. Matching is by stage id, never by name.
    remote_stage_missing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "remote_job_id", "remote_stage_id", "remote_sub_status", "package"],
                name="stage_mapping_unique_stage_package",
            ),
            models.UniqueConstraint(
                fields=["connection", "remote_job_id", "remote_stage_id", "remote_sub_status"],
                condition=Q(package__isnull=True),
                name="stage_mapping_unique_stage_nothing",
            ),
        ]

    def __str__(self) -> str:
        job = self.remote_job_id or "all jobs"
        return f"{job} / {self.remote_stage_id}{'/' + self.remote_sub_status if self.remote_sub_status else ''}"


class StageMappingVersion(models.Model):
    """One saved state of a connection's stage mappings: who, when, the rows and the diff to the
    state before. Restoring a version saves its rows as a new version."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="mapping_versions")
    number = models.PositiveIntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor = models.CharField(max_length=150, blank=True)
    note = models.CharField(max_length=300, blank=True)
    rows = models.JSONField(default=list, blank=True)
    diff = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["connection", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "number"], name="stage_mapping_version_unique_number")
        ]

    def __str__(self) -> str:
        return f"mapping v{self.number} of {self.connection}"


class ErrorCode(models.TextChoices):
    AUTH_FAILED = "AUTH_FAILED", "Authentication failed"
    RATE_LIMITED = "RATE_LIMITED", "Rate limited"
    REMOTE_ERROR = "REMOTE_ERROR", "ATS server error"
    TIMEOUT = "TIMEOUT", "Timed out"
    HOST_NOT_ALLOWED = "HOST_NOT_ALLOWED", "Host not on the allow-list"
    BAD_PAYLOAD = "BAD_PAYLOAD", "Payload could not be parsed"
    STAGE_NOT_MAPPED = "STAGE_NOT_MAPPED", "Stage not mapped"
    UNKNOWN_CONNECTION = "UNKNOWN_CONNECTION", "Unknown connection"
    INTERNAL = "INTERNAL", "Internal error"


class WebhookStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored"
    FAILED = "failed", "Failed"


class WebhookEvent(models.Model):
    """The inbox: every authenticated inbound ATS call, stored before it is processed."""

    provider = models.CharField(max_length=32)
    connection = models.ForeignKey(Connection, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    event_id = models.CharField(max_length=200)
    event_type = models.CharField(max_length=100, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    raw_body = models.BinaryField()  # compressed with lz4 on PostgreSQL (migration 0009)
    # The database defaults (``db_default``, the same values as ``default``) let the intake's one
    # INSERT name only what a new event brings (``webhooks.INTAKE_FIELDS``).
    status = models.CharField(
        max_length=16, choices=WebhookStatus.choices, default=WebhookStatus.RECEIVED, db_default=WebhookStatus.RECEIVED
    )
    attempts = models.PositiveIntegerField(default=0, db_default=0)
    error_code = models.CharField(max_length=32, choices=ErrorCode.choices, blank=True, default="", db_default="")
    error = models.TextField(blank=True, default="", db_default="")
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # Set when the body, headers and error text were replaced (erasure on request, or retention):
    # the row stays, so the (provider, event id) idempotency key outlives the personal data.
    redacted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="webhook_event_unique_provider_event")
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type} {self.event_id}"


class DeliveryChannel(models.TextChoices):
    RESULT = "result", "Result (order mode)"
    NOTE = "note", "Note (trigger mode)"
    STAGE_MOVE = "stage_move", "Stage move (score rule)"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed, will retry"
    DEAD = "dead", "Dead"
    # A newer state of the same assessment and channel was queued before this one went out: the
    # ATS takes the full state in one call, so only the newest is sent.
    SUPERSEDED = "superseded", "Superseded by a newer state"


class Delivery(models.Model):
    """The outbox: one write-back of an assessment's state to the ATS."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="deliveries")
    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=16, choices=DeliveryChannel.choices)
    assessment_status = models.CharField(max_length=16, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=32, choices=ErrorCode.choices, blank=True)
    last_error = models.TextField(blank=True)
    # Ids the ATS gave back (e.g. a result it created), for this assessment's later write-backs.
    remote_refs = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Set when the payload and last error of a sent or dead delivery were cleared (erasure or retention).
    redacted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.channel} of assessment {self.assessment_id} ({self.status})"


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_rows")
    started_at = models.DateTimeField(auto_now_add=True)
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=32, choices=ErrorCode.choices, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["started_at", "id"]


class RemoteRecord(models.Model):
    """A mirrored ATS object: unique per connection, never per remote id alone. The unique
    (connection, remote_id) index serves every lookup by connection too: no index of the foreign
    key's own (one index less to maintain per mirrored row: the sync's upsert, bench/RESULTS.md)."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+", db_index=False)
    remote_id = models.CharField(max_length=128)
    data = models.JSONField(default=dict, blank=True)
    remote_updated_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class RemoteJob(RemoteRecord):
    title = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "remote_id"], name="remote_job_unique")]

    def __str__(self) -> str:
        return self.title or self.remote_id


class RemoteStage(RemoteRecord):
    remote_job_id = models.CharField(max_length=128, blank=True)
    name = models.CharField(max_length=200)
    position = models.IntegerField(default=0)
    stage_type = models.CharField(max_length=64, blank=True)
    # A sub-stage (e.g. a SmartRecruiters hiring-process sub-status): its parent stage's remote id
    # and the sub-status value applications carry in ``remote_sub_status``. Blank for a stage.
    parent_remote_id = models.CharField(max_length=128, blank=True)
    sub_status = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["remote_job_id", "position"]
        constraints = [models.UniqueConstraint(fields=["connection", "remote_id"], name="remote_stage_unique")]

    def __str__(self) -> str:
        return self.name


class RemoteCandidate(RemoteRecord):
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "remote_id"], name="remote_candidate_unique")]
        # The candidate's e-mail is looked up case-insensitively (``email__iexact``: a GDPR erasure
        # or export, the candidate search): an index on UPPER(email) is what those queries use.
        indexes = [models.Index(Upper("email"), name="remote_candidate_email_ci")]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.remote_id


class RemoteApplication(RemoteRecord):
    remote_candidate_id = models.CharField(max_length=128, blank=True)
    remote_job_id = models.CharField(max_length=128, blank=True)
    remote_stage_id = models.CharField(max_length=128, blank=True)
    remote_sub_status = models.CharField(max_length=128, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    changed_stage_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "remote_id"], name="remote_application_unique")]

    def __str__(self) -> str:
        return self.remote_id


class SyncStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


SYNC_LIVE_STATUSES = (SyncStatus.QUEUED, SyncStatus.RUNNING)


class SyncRun(models.Model):
    """One sync of one connection: queued by ``integrations.sync.sync_start``, run by the
    ``sync_connection`` task, its progress committed with every page it stores."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="sync_runs")
    status = models.CharField(max_length=16, choices=SyncStatus.choices, default=SyncStatus.QUEUED)
    full = models.BooleanField(default=False, help_text="A full reconciliation: ignores the cursors, removes what the ATS no longer has.")
    kinds = models.JSONField(default=list, blank=True, help_text="The kinds synced, in order.")
    reason = models.CharField(max_length=200, blank=True)
    # The connection's first sync of applications: it mirrors where everyone stands and invites
    # only the moves made since the connection was created (not who sat in a mapped stage before).
    baseline = models.BooleanField(default=False)
    started_at = models.DateTimeField(auto_now_add=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    pages = models.PositiveIntegerField(default=0)
    # Per kind: {"seen", "created", "updated", "unchanged", "skipped", "deleted"}.
    counts = models.JSONField(default=dict, blank=True)
    kinds_done = models.JSONField(default=list, blank=True)
    invites_triggered = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="The first record-level errors.")
    error_code = models.CharField(max_length=32, choices=ErrorCode.choices, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection"], condition=Q(status__in=["queued", "running"]),
                name="sync_run_one_live_per_connection",
            )
        ]

    def __str__(self) -> str:
        return f"sync of {self.connection} at {self.started_at:%Y-%m-%d %H:%M} ({self.status})"

    def _total(self, name: str) -> int:
        return sum(int((per_kind or {}).get(name, 0)) for per_kind in (self.counts or {}).values())

    @property
    def records_seen(self) -> int:
        return self._total("seen")

    @property
    def records_created(self) -> int:
        return self._total("created")

    @property
    def records_updated(self) -> int:
        return self._total("updated")

    @property
    def records_unchanged(self) -> int:
        return self._total("unchanged")

    @property
    def records_deleted(self) -> int:
        return self._total("deleted")

    @property
    def live(self) -> bool:
        return self.status in SYNC_LIVE_STATUSES

    @property
    def duration(self):
        """Time from queueing to the end (or to the last heartbeat while it runs)."""
        end = self.finished_at or self.heartbeat_at
        return (end - self.started_at) if end and self.started_at else None

class ConnectionEvent(models.Model):
    """One change of a connection's status: who (actor), what (from -> to) and why (reason).
    Written only by ``services.connection_status_set``."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="status_events")
    from_status = models.CharField(max_length=20, choices=ConnectionStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=ConnectionStatus.choices)
    actor = models.CharField(max_length=200)
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.from_status or '(new)'} -> {self.to_status} by {self.actor}"


class AssessmentLink(models.Model):
    """The ATS side of an assessment made through a connection: the ATS's ids, owned by the
    integrations app (the assessments app never sees this table). One row per assessment."""

    assessment = models.OneToOneField(Assessment, on_delete=models.CASCADE, related_name="ats_link")
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="assessment_links")
    remote_order_id = models.CharField(max_length=128, blank=True)
    remote_application_id = models.CharField(max_length=128, blank=True)
    remote_candidate_id = models.CharField(max_length=128, blank=True)
    remote_job_id = models.CharField(max_length=128, blank=True)
    # The stage the order came from (e.g. the stage whose trigger fired), when the ATS names it.
    remote_stage_id = models.CharField(max_length=128, blank=True)
    # The result the ATS shows for this assessment (Teamtailor's partner result), once known.
    remote_result_id = models.CharField(max_length=128, blank=True, db_index=True)
    update_url = models.URLField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"link of assessment {self.assessment_id}"


class InboundSignature(models.Model):
    """A signature an ATS used on an accepted call, kept for a short while (longer than the
    signature's validity): the same signed request must not be accepted as another kind of call
    (e.g. a captured trigger replayed as a button click)."""

    provider = models.CharField(max_length=32)
    fingerprint = models.CharField(max_length=64)
    kind = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "fingerprint"], name="inbound_signature_unique")
        ]
