import json

from django import forms
from django.contrib import admin, messages
from django.db import models

from .deliveries import delivery_release_held, delivery_resend
from .models import (
    AssessmentLink,
    Connection,
    ConnectionEvent,
    Delivery,
    DeliveryAttempt,
    RemoteApplication,
    RemoteCandidate,
    RemoteJob,
    RemoteStage,
    StageMapping,
    StageMappingVersion,
    SyncRun,
    WebhookEvent,
)
from .services import connection_credentials_update, connection_status_set, connection_test
from .sync import sync_start, sync_unavailable_reason
from .webhooks import webhook_event_reprocess


class ReadOnlyAdmin(admin.ModelAdmin):
    """Integration rows are records of what happened: viewed and acted on, never edited by hand."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class StageMappingInline(admin.TabularInline):
    model = StageMapping
    extra = 0
    readonly_fields = ["remote_stage_missing_since"]


class ConnectionEventInline(admin.TabularInline):
    """Every status change of the connection: who, what and why (read-only)."""

    model = ConnectionEvent
    extra = 0
    can_delete = False
    fields = readonly_fields = ["created_at", "from_status", "to_status", "actor", "reason"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ConnectionAdminForm(forms.ModelForm):
    """Credentials are write-only here: their names are shown, never their values."""

    credentials_change = forms.CharField(
        label="Change credentials",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off", "spellcheck": "false"}),
        help_text='A JSON object of strings, e.g. {"api_key": "..."}: sets the keys named, removes a key given '
        "as \"\", keeps the others. Leave empty to change nothing. Stored encrypted.",
    )

    class Meta:
        model = Connection
        exclude = ["credentials"]

        @staticmethod
        def formfield_callback(field, **kwargs):
            if isinstance(field, models.URLField):
                kwargs["assume_scheme"] = "https"  # ATS hosts are https; Django 6's default
            return field.formfield(**kwargs)

    def clean_credentials_change(self) -> dict[str, str]:
        text = self.cleaned_data["credentials_change"].strip()
        if not text:
            return {}
        try:
            changes = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None
        if not isinstance(changes, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in changes.items()):
            raise forms.ValidationError('Expected a JSON object of strings, e.g. {"api_key": "..."}.')
        return changes


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    form = ConnectionAdminForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = [
        "__str__", "tenant", "provider", "remote_account_id", "status", "status_reason", "region", "sync_enabled",
        "last_synced_at", "latest_sync",
    ]
    list_filter = ["provider", "status", "region"]
    search_fields = ["name", "remote_account_id", "tenant__name"]
    readonly_fields = [
        "stored_credentials", "provider_key_hash", "connection_token_hash", "created_at", "updated_at", "last_synced_at",
        "sync_cursors",
    ]
    inlines = [StageMappingInline, ConnectionEventInline]
    actions = ["test_connection", "sync_now", "full_resync"]

    @admin.display(description="stored credentials")
    def stored_credentials(self, obj) -> str:
        names = sorted((obj.credentials or {}).keys()) if obj and obj.pk else []
        return ", ".join(names) or "none"

    def save_model(self, request, obj, form, change):
        # The status goes through connection_status_set (one event row per change), not the form.
        status, reason = obj.status, obj.status_reason
        if change and "status" in form.changed_data:
            stored = Connection.objects.values_list("status", "status_reason").get(pk=obj.pk)
            obj.status, obj.status_reason = stored
        super().save_model(request, obj, form, change)
        if change and "status" in form.changed_data:
            connection_status_set(
                connection=obj, status=status, actor=f"admin:{request.user.get_username()}",
                reason=reason if "status_reason" in form.changed_data else "changed in the admin",
            )
        changes = form.cleaned_data.get("credentials_change") or {}
        if changes:
            updated = connection_credentials_update(connection=obj, changes=changes)
            obj.credentials, obj.provider_key_hash = updated.credentials, updated.provider_key_hash
            obj.connection_token_hash = updated.connection_token_hash
            self.message_user(request, f"Credentials changed: {', '.join(sorted(changes))}.", messages.SUCCESS)

    def _sync(self, request, queryset, *, full: bool) -> None:
        for connection in queryset.select_related("tenant"):
            run = sync_start(connection=connection, full=full, reason=f"admin: {request.user}")
            if run is None:
                reason = sync_unavailable_reason(connection=connection)
                self.message_user(request, f"{connection}: not synced, {reason}.", messages.WARNING)
            elif run.full != full or run.status == "running":
                state = run.get_status_display().lower()
                self.message_user(request, f"{connection}: a sync is already {state} (run {run.pk}).", messages.INFO)
            else:
                kind = "full resync" if full else "sync"
                self.message_user(request, f"{connection}: {kind} queued (run {run.pk}).", messages.SUCCESS)

    @admin.action(description="Sync now (what changed since the last sync)")
    def sync_now(self, request, queryset) -> None:
        self._sync(request, queryset, full=False)

    @admin.action(description="Full resync (everything; removes what the ATS deleted)")
    def full_resync(self, request, queryset) -> None:
        self._sync(request, queryset, full=True)

    @admin.display(description="latest sync")
    def latest_sync(self, obj) -> str:
        run = obj.sync_runs.order_by("-started_at", "-id").first()
        return f"{run.get_status_display()} {run.started_at:%Y-%m-%d %H:%M}" if run else "never"

    @admin.action(description="Test connection (check the stored credentials with the ATS)")
    def test_connection(self, request, queryset) -> None:
        for connection in queryset:
            result = connection_test(connection=connection)
            level = messages.SUCCESS if result.ok else messages.ERROR
            self.message_user(request, f"{connection}: {result.message}", level)


@admin.register(StageMapping)
class StageMappingAdmin(admin.ModelAdmin):
    list_display = [
        "__str__", "connection", "package", "active", "reinvite_on_reentry", "advance_threshold", "fail_threshold",
        "remote_stage_missing_since",
    ]
    readonly_fields = ["remote_stage_missing_since"]
    list_filter = ["active", "connection__provider"]
    search_fields = ["remote_job_id", "remote_stage_id", "package__name"]


@admin.register(StageMappingVersion)
class StageMappingVersionAdmin(ReadOnlyAdmin):
    """The wizard's history (who saved what, when); restoring is done in the wizard."""

    list_display = ["connection", "number", "created_at", "created_by", "actor", "note"]
    list_filter = ["connection__provider"]
    readonly_fields = ["connection", "number", "created_at", "created_by", "actor", "note", "rows", "diff"]


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = [
        "received_at", "provider", "event_type", "event_id", "connection", "status", "attempts", "error_code",
        "redacted",
    ]
    list_filter = ["provider", "status", "event_type", "error_code", ("redacted_at", admin.EmptyFieldListFilter)]
    search_fields = ["event_id"]
    date_hierarchy = "received_at"
    exclude = ["raw_body"]
    readonly_fields = ["body_text"]
    actions = ["reprocess"]

    @admin.action(description="Reprocess the selected events")
    def reprocess(self, request, queryset) -> None:
        # A redacted body cannot be parsed, and must not be: it would bring an erased candidate back.
        redacted = [event for event in queryset if event.redacted_at]
        queued = [event for event in queryset if not event.redacted_at]
        for event in queued:
            webhook_event_reprocess(webhook_event=event)
        self.message_user(request, f"{len(queued)} event(s) queued for processing.", messages.SUCCESS)
        if redacted:
            self.message_user(request, f"{len(redacted)} redacted event(s) skipped.", messages.WARNING)

    @admin.display(description="redacted", boolean=True, ordering="redacted_at")
    def redacted(self, obj) -> bool:
        return obj.redacted_at is not None

    @admin.display(description="raw body")
    def body_text(self, obj) -> str:
        body = bytes(obj.raw_body).decode("utf-8", errors="replace")
        if obj.redacted_at:
            return f"redacted on {obj.redacted_at:%Y-%m-%d %H:%M} UTC: {body}"
        return body


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["started_at", "duration_ms", "status_code", "error_code", "error"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at", "connection", "assessment", "channel", "assessment_status", "status", "attempts",
        "last_status_code", "error_code", "next_attempt_at", "redacted_at",
    ]
    list_filter = [
        "status", "channel", "error_code", "connection__provider", ("redacted_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["assessment__id", "assessment__candidate_email"]
    inlines = [DeliveryAttemptInline]
    actions = ["resend_now", "release_held"]

    @admin.action(description="Send a held write-back without its check (you looked: it is not in the ATS)")
    def release_held(self, request, queryset) -> None:
        # A note held because SmartRecruiters would not let Stagehook look whether an earlier try
        # arrived: a person looked on the candidate (the error names the reference to look for).
        actor = f"admin:{request.user.pk}"
        released = sum(delivery_release_held(delivery=delivery, actor=actor) for delivery in queryset)
        skipped = len(queryset) - released
        if released:
            self.message_user(request, f"{released} held write-back(s) queued to send once without the check.",
                              messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"{skipped} skipped: not held (only a note whose earlier try may have arrived is), redacted, "
                "or overtaken by a later delivery of the same assessment.",
                messages.WARNING,
            )

    @admin.action(description="Re-send now (dead or failed deliveries)")
    def resend_now(self, request, queryset) -> None:
        # A redacted delivery has no payload left to send (its candidate was erased, or it aged out).
        resent = sum(delivery_resend(delivery=delivery) for delivery in queryset if not delivery.redacted_at)
        skipped = len(queryset) - resent
        self.message_user(request, f"{resent} delivery(ies) queued to re-send.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"{skipped} skipped: already sent, redacted, or overtaken by a later delivery of the same assessment.",
                messages.WARNING,
            )


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = [
        "started_at", "connection", "status", "full", "reason", "pages", "records_seen", "records_created",
        "records_updated", "records_unchanged", "records_deleted", "invites_triggered", "error_count", "duration",
        "error_code",
    ]
    list_filter = ["status", "full", "error_code", "connection__provider"]
    list_select_related = ["connection"]
    date_hierarchy = "started_at"


class RemoteAdmin(ReadOnlyAdmin):
    list_filter = ["connection"]
    search_fields = ["remote_id"]


@admin.register(RemoteJob)
class RemoteJobAdmin(RemoteAdmin):
    list_display = ["remote_id", "title", "status", "connection", "remote_updated_at"]
    search_fields = ["remote_id", "title"]


@admin.register(RemoteStage)
class RemoteStageAdmin(RemoteAdmin):
    list_display = ["remote_id", "name", "remote_job_id", "position", "connection"]


@admin.register(RemoteCandidate)
class RemoteCandidateAdmin(RemoteAdmin):
    list_display = ["remote_id", "first_name", "last_name", "email", "connection", "remote_updated_at"]
    search_fields = ["remote_id", "email", "last_name"]


@admin.register(RemoteApplication)
class RemoteApplicationAdmin(RemoteAdmin):
    list_display = ["remote_id", "remote_candidate_id", "remote_job_id", "remote_stage_id", "connection", "changed_stage_at"]


@admin.register(AssessmentLink)
class AssessmentLinkAdmin(ReadOnlyAdmin):
    list_display = ["assessment", "connection", "remote_order_id", "remote_result_id", "remote_candidate_id", "remote_job_id"]
    list_filter = ["connection__provider"]
    search_fields = ["remote_order_id", "remote_result_id", "remote_candidate_id", "remote_application_id"]
