"""The credentials SmartRecruiters holds for calling us, read-only (secrets and tokens exist only
as hashes). Revoking here makes SmartRecruiters' next token request or call fail. And the own-app
connections' settings (the score property), checked against SmartRecruiters' list when saved."""

from django import forms
from django.contrib import admin
from django.utils import timezone

from integrations.models import Connection

from . import auth, services
from .constants import PROVIDER_NAME
from .models import AccessToken, ConnectionSettings, PartnerClient


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


class ConnectionSettingsForm(forms.ModelForm):
    """The score property of an own-app connection: a choice of the company's candidate properties
    (read live) when the connection is known, and always checked against that list on save."""

    class Meta:
        model = ConnectionSettings
        fields = ["connection", "score_property_id"]
        help_texts = {"score_property_id": "A NUMBER, PERCENT or TEXT candidate property of the company; blank: none."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.live: list[dict[str, str]] | None = None
        self.fields["connection"].queryset = Connection.objects.filter(provider=PROVIDER_NAME).order_by("tenant__name", "id")
        connection = self.instance.connection if self.instance.pk else None
        if connection is not None:
            self.fields["connection"].disabled = True
            try:
                self.live = services.smartrecruiters_score_properties_fetch(connection=connection)
            except services.SettingsRefused as exc:
                self.fields["score_property_id"].help_text = exc.message
            else:
                choices = [("", "(none)")] + [(p["id"], f"{p['label']} ({p['type']})") for p in self.live]
                self.fields["score_property_id"] = forms.ChoiceField(choices=choices, required=False,
                                                                     label="Score property")

    def clean(self):
        cleaned = super().clean()
        connection = cleaned.get("connection")
        if connection is None:
            return cleaned
        if not auth.is_own_app(connection):
            raise forms.ValidationError("Only own-app SmartRecruiters connections write the score into a candidate property.")
        property_id = (cleaned.get("score_property_id") or "").strip()
        if property_id:
            try:
                live = self.live if self.live is not None else services.smartrecruiters_score_properties_fetch(connection=connection)
            except services.SettingsRefused as exc:
                raise forms.ValidationError(exc.message) from None
            if not any(p["id"] == property_id for p in live):
                self.add_error("score_property_id", f"SmartRecruiters has no candidate property {property_id!r} that can hold a score.")
            self.live = live
        return cleaned


@admin.register(ConnectionSettings)
class ConnectionSettingsAdmin(admin.ModelAdmin):
    form = ConnectionSettingsForm
    list_display = ["connection", "score_property_label", "score_property_type", "updated_at", "updated_by"]
    search_fields = ["connection__remote_account_id", "connection__name", "score_property_label"]
    readonly_fields = ["score_property_label", "score_property_type", "updated_at", "updated_by"]

    def save_model(self, request, obj, form, change):
        # Through the service: the label and type come from SmartRecruiters' list, one row per connection.
        row = services.smartrecruiters_score_property_set(
            connection=form.cleaned_data["connection"], property_id=form.cleaned_data.get("score_property_id") or "",
            actor=f"admin:{request.user.pk}", available=form.live,
        )
        obj.pk, obj.score_property_label, obj.score_property_type = row.pk, row.score_property_label, row.score_property_type
