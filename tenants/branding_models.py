"""Per-tenant branding of what candidates see: colours, logo, sender, invitation texts.

Every save of the editor writes a :class:`BrandingVersion` (a JSON snapshot), so an admin can see
who changed what and when. Texts are tenant-authored: they are rendered by
``tenants.branding.branding_render`` (a whitelist of placeholders), never by Django's templates.
"""

from django.conf import settings
from django.db import models


class Branding(models.Model):
    tenant = models.OneToOneField("tenants.Tenant", on_delete=models.CASCADE, related_name="branding")
    primary_colour = models.CharField(max_length=7, default="#3353d1")
    logo = models.BinaryField(null=True, blank=True, editable=False)
    logo_content_type = models.CharField(max_length=32, blank=True)
    logo_sha256 = models.CharField(max_length=64, blank=True)
    sender_name = models.CharField(max_length=100, blank=True)
    reply_to = models.EmailField(blank=True)
    default_language = models.CharField(max_length=16, default="en")
    email_subject = models.CharField(max_length=200, blank=True)
    email_body = models.TextField(blank=True)
    sms_text = models.CharField(max_length=480, blank=True)
    welcome_text = models.TextField(blank=True)
    privacy_notice = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"branding of {self.tenant}"


class BrandingVersion(models.Model):
    branding = models.ForeignKey(Branding, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    snapshot = models.JSONField(default=dict)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["branding", "-number"]
        constraints = [models.UniqueConstraint(fields=["branding", "number"], name="branding_version_unique_number")]
