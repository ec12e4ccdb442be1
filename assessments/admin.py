from django.contrib import admin

from .models import Assessment, AssessmentEvent, Package, Question


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
