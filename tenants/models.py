"""Tenants (the vendor's customers) and who may act for them."""

from django.conf import settings
from django.db import models


class Region(models.TextChoices):
    EU = "eu", "EU"
    US = "us", "US"
    AU = "au", "AU"


class Tenant(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    region = models.CharField(max_length=2, choices=Region.choices, default=Region.EU)
    retention_days = models.PositiveIntegerField(
        default=90, help_text="Candidate personal data is removed from assessments older than this."
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    RECRUITER = "recruiter", "Recruiter"


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.RECRUITER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tenant"], name="membership_unique_user_tenant")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant} ({self.role})"


from .branding_models import Branding, BrandingVersion  # noqa: E402,F401  (models of this app)
