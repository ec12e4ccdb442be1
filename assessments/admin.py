from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers

from tenants.models import Tenant

from .apikeys import tenant_api_key_create, tenant_api_key_revoke
from .exceptions import AssessmentError
from .models import Assessment, AssessmentEvent, AuditLog, Mode, Package, Question, TenantApiKey
from .retention import candidate_erase
from .services import CandidateSnapshot, assessment_cancel, assessment_order, assessment_resend_invitation


class QuestionInline(admin.StackedInline):
    model = Question
    extra = 0


@admin.register(Package)
class PackageAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "type", "language", "duration_minutes", "active", "updated_at"]
    list_filter = ["type", "language", "active", "tenant"]
    search_fields = ["name", "description", "tenant__name"]
    inlines = [QuestionInline]


class AssessmentEventInline(admin.TabularInline):
    model = AssessmentEvent
    extra = 0
    can_delete = False
    readonly_fields = ["created_at", "from_status", "to_status", "actor", "note"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class AssessmentAddForm(forms.ModelForm):
    """Creating an assessment by hand: who, which package; the service does the rest."""

    class Meta:
        model = Assessment
        fields = [
            "tenant", "package", "candidate_first_name", "candidate_last_name", "candidate_email",
            "candidate_phone", "expires_at",
        ]

    def clean(self):
        data = super().clean()
        tenant, package = data.get("tenant"), data.get("package")
        if tenant and package and package.tenant_id != tenant.pk:
            self.add_error("package", "This package belongs to another tenant.")
        if package and not package.active:
            self.add_error("package", "This package is not active.")
        if not data.get("candidate_email") and not data.get("candidate_phone"):
            raise forms.ValidationError("Give the candidate's e-mail address or phone number.")
        return data


@admin.register(Assessment)
class AssessmentAdmin(admin.ModelAdmin):
    list_display = [
        "id", "tenant", "package", "candidate_email", "status", "mode", "score_value", "created_at", "expires_at"
    ]
    list_filter = ["status", "mode", "tenant", "package"]
    search_fields = ["candidate_email", "candidate_last_name", "remote_order_id", "remote_application_id"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "status", "status_reason", "source", "created_at", "updated_at", "invited_at", "reminded_at", "started_at",
        "completed_at", "personal_data_purged_at", "score_value", "score_min", "score_max", "score_label", "summary",
        "transcript", "details", "report_url", "attachments",
    ]
    inlines = [AssessmentEventInline]
    actions = ["send_invitation", "cancel", "erase_candidate_data"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = AssessmentAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return AssessmentAddForm.Meta.fields
        return super().get_fields(request, obj)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        created, _ = assessment_order(
            tenant=data["tenant"], package=data["package"], mode=Mode.MANUAL,
            actor=f"admin:{request.user.get_username()}",
            candidate=CandidateSnapshot(
                first_name=data["candidate_first_name"], last_name=data["candidate_last_name"],
                email=data["candidate_email"], phone=data["candidate_phone"],
            ),
            expires_at=data.get("expires_at"),
        )
        # The admin goes on with ``obj`` (log entry, redirect): make it the created row.
        obj.pk = created.pk
        obj._state.adding = False

    @admin.action(description="Send (or re-send) the invitation")
    def send_invitation(self, request, queryset):
        self._each(request, queryset, lambda a, actor: assessment_resend_invitation(assessment=a, actor=actor), "sent")

    @admin.action(description="Cancel the interview")
    def cancel(self, request, queryset):
        self._each(request, queryset, lambda a, actor: assessment_cancel(assessment=a, actor=actor), "cancelled")

    def _each(self, request, queryset, service, verb: str) -> None:
        actor = f"admin:{request.user.get_username()}"
        done = 0
        for assessment in queryset:
            try:
                service(assessment, actor)
                done += 1
            except AssessmentError as exc:
                self.message_user(request, f"Assessment {assessment.pk}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, f"{done} assessment(s) {verb}.", messages.SUCCESS)

    @admin.action(description="Erase candidate data (on the candidate's request)")
    def erase_candidate_data(self, request, queryset):
        assessment_admin_erase_candidates(self, request, queryset)


# --- API keys, audit log, erasure -----------------------------------------------------------------
def assessment_admin_erase_candidates(model_admin, request, queryset) -> None:
    """Erase, within each selected assessment's tenant, every assessment (and mirror row) of that
    candidate's e-mail address: an erasure request is about the person, not one interview."""
    requests = {(a.candidate_email.strip().lower(), a.tenant_id) for a in queryset.select_related("tenant")}
    requests = {(email, tenant_id) for email, tenant_id in requests if email}
    tenants = Tenant.objects.in_bulk({tenant_id for _, tenant_id in requests})
    total = 0
    for email, tenant_id in sorted(requests):
        total += candidate_erase(email=email, actor=f"admin:{request.user.get_username()}", tenant=tenants[tenant_id])
    model_admin.message_user(
        request,
        f"Erased the personal data of {len(requests)} candidate(s) from {total} assessment(s).",
        messages.SUCCESS,
    )


@admin.register(TenantApiKey)
class TenantApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["tenant", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "tenant__name"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["tenant", "name"]
        return ["tenant", "name", "prefix", "created_at", "last_used_at", "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["tenant", "prefix", "created_at", "last_used_at", "revoked_at"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        created, raw = tenant_api_key_create(tenant=obj.tenant, name=obj.name)
        # The admin goes on with ``obj`` (log entry, redirect): make it the created row.
        obj.pk, obj.prefix, obj.key_hash, obj.created_at = created.pk, created.prefix, created.key_hash, created.created_at
        obj._state.adding = False
        # The only time the raw key exists outside the caller's hands: it is not stored, and is
        # shown by the page of this very response (never a message: those travel in a cookie).
        obj._raw_key = raw

    def response_add(self, request, obj, post_url_continue=None):
        raw = getattr(obj, "_raw_key", None)
        if raw is None:
            return super().response_add(request, obj, post_url_continue)
        context = {**self.admin_site.each_context(request), "api_key": obj, "raw_key": raw, "opts": self.opts}
        response = TemplateResponse(request, "admin/assessments/tenantapikey/created.html", context)
        add_never_cache_headers(response)  # no-store: the key stays out of every cache
        return response

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        for api_key in queryset.filter(revoked_at__isnull=True):
            tenant_api_key_revoke(api_key=api_key)
        self.message_user(request, "Revoked.", messages.SUCCESS)


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ["created_at", "action", "tenant", "actor", "subject"]
    list_filter = ["action", "tenant"]
    search_fields = ["subject", "actor"]
    readonly_fields = ["created_at", "tenant", "actor", "action", "subject", "detail"]

    # An audit trail is append-only, written by services.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
