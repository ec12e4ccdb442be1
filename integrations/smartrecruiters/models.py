"""What SmartRecruiters uses to call *us*: the client credentials we mint at consent (the secret
stored hashed, shown never) and the short-lived access tokens our token endpoint issues (hashed)."""

from django.db import models

from integrations.models import Connection


class PartnerClient(models.Model):
    """Client credentials SmartRecruiters presents at ``/smartrecruiters/oauth/token`` for one
    connection. Only a hash of the secret is kept; a new consent with rotation mints a new row."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="smartrecruiters_clients")
    client_id = models.CharField(max_length=64, unique=True)
    secret_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.client_id


class AccessToken(models.Model):
    """A token we issued to SmartRecruiters: scoped to one connection, short-lived, hashed."""

    client = models.ForeignKey(PartnerClient, on_delete=models.CASCADE, related_name="tokens")
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.CharField(max_length=300, blank=True)
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"token of {self.client} until {self.expires_at:%Y-%m-%d %H:%M}"


class ConnectionSettings(models.Model):
    """A SmartRecruiters connection's non-secret choices (``Connection.credentials`` is for secrets):
    the candidate property that receives the interview score, picked from the company's
    ``GET /configuration/candidate-properties``. No row, or a blank id: no score property."""

    connection = models.OneToOneField(Connection, on_delete=models.CASCADE, related_name="smartrecruiters_settings")
    score_property_id = models.CharField(max_length=128, blank=True)
    score_property_label = models.CharField(max_length=200, blank=True)
    score_property_type = models.CharField(max_length=32, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = "SmartRecruiters connection settings"
        verbose_name_plural = "SmartRecruiters connection settings"

    def __str__(self) -> str:
        return f"settings of {self.connection}"
