from django.contrib import admin

from .models import Branding, BrandingVersion, Membership, Tenant


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "region", "retention_days", "active", "created_at"]
    list_filter = ["region", "active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role", "tenant"]
    search_fields = ["user__email", "user__username", "tenant__name"]
    autocomplete_fields = ["user", "tenant"]


class BrandingVersionInline(admin.TabularInline):
    model = BrandingVersion
    extra = 0
    can_delete = False
    fields = ["number", "created_at", "changed_by", "snapshot"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Branding)
class BrandingAdmin(admin.ModelAdmin):
    """Read-only here: tenants edit their branding in the app (/app/branding/), where the texts'
    placeholders are validated and every change is versioned."""

    list_display = ["tenant", "version", "primary_colour", "default_language", "updated_at"]
    search_fields = ["tenant__name", "tenant__slug"]
    exclude = ["logo"]
    inlines = [BrandingVersionInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name != "logo"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return request.method in ("GET", "HEAD") and super().has_change_permission(request, obj)
