"""The credentials SmartRecruiters holds for calling us, read-only (secrets and tokens exist only
as hashes). Revoking here makes SmartRecruiters' next token request or call fail."""

from django.contrib import admin
from django.utils import timezone

from .models import AccessToken, PartnerClient


@admin.register(PartnerClient)
class PartnerClientAdmin(admin.ModelAdmin):
    list_display = ["client_id", "connection", "created_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["client_id", "connection__remote_account_id"]
    readonly_fields = ["connection", "client_id", "created_at", "revoked_at"]
    exclude = ["secret_hash"]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Revoke (and every token issued to it)")
    def revoke(self, request, queryset):
        now = timezone.now()
        AccessToken.objects.filter(client__in=queryset, revoked_at__isnull=True).update(revoked_at=now)
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=now)
        self.message_user(request, f"{count} client(s) revoked.")


@admin.register(AccessToken)
class AccessTokenAdmin(admin.ModelAdmin):
    list_display = ["client", "connection", "scopes", "created_at", "expires_at", "revoked_at"]
    readonly_fields = ["client", "connection", "scopes", "created_at", "expires_at", "revoked_at"]
    exclude = ["token_hash"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
