"""Request and response shapes of the machine APIs (results API, unified-API package list)."""

from django.core.validators import RegexValidator, URLValidator
from rest_framework import serializers

from .models import Assessment, Package

_http_url = URLValidator(schemes=["http", "https"])
_content_type = RegexValidator(r"^[\w.+-]+/[\w.+-]+$", "Enter a MIME type such as application/pdf.")


class ScoreSerializer(serializers.Serializer):
    value = serializers.DecimalField(max_digits=7, decimal_places=2)
    min = serializers.DecimalField(max_digits=7, decimal_places=2)
    max = serializers.DecimalField(max_digits=7, decimal_places=2)
    label = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if attrs["min"] >= attrs["max"]:
            raise serializers.ValidationError({"max": "Must be greater than min."})
        if not attrs["min"] <= attrs["value"] <= attrs["max"]:
            raise serializers.ValidationError({"value": "Must lie between min and max."})
        return attrs


class TranscriptItemSerializer(serializers.Serializer):
    question = serializers.CharField(max_length=5000)
    answer = serializers.CharField(max_length=50000, allow_blank=True)


class AttachmentSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=1000, validators=[_http_url])
    content_type = serializers.CharField(max_length=100, validators=[_content_type])


class AssessmentResultSerializer(serializers.Serializer):
    """The body the vendor's AI engine posts to ``/api/v1/assessments/<id>/result``."""

    score = ScoreSerializer()
    summary = serializers.CharField(max_length=20000, required=False, allow_blank=True, default="")
    transcript = TranscriptItemSerializer(many=True, required=False, default=list, max_length=500)
    details = serializers.DictField(
        required=False, default=dict, help_text="Optional engine-specific detail, e.g. per-question sub-scores."
    )
    report_url = serializers.CharField(
        max_length=1000, required=False, allow_blank=True, default="", validators=[_http_url]
    )
    attachments = AttachmentSerializer(many=True, required=False, default=list, max_length=50)
    started_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    completed_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    def validate_details(self, value: dict) -> dict:
        # PostgreSQL's jsonb cannot hold U+0000: refuse it here rather than fail on save.
        def walk(item) -> None:
            if isinstance(item, str) and "\x00" in item:
                raise serializers.ValidationError("Must not contain NUL characters.")
            if isinstance(item, dict):
                for key, val in item.items():
                    walk(key)
                    walk(val)
            elif isinstance(item, list):
                for val in item:
                    walk(val)

        walk(value)
        return value

    def validate(self, attrs):
        started, completed = attrs.get("started_at"), attrs.get("completed_at")
        if started and completed and started > completed:
            raise serializers.ValidationError({"completed_at": "Must not be before started_at."})
        return attrs

    def service_kwargs(self) -> dict:
        """``validated_data`` as keyword arguments of ``assessment_record_result``."""
        data = self.validated_data
        score = data["score"]
        return {
            "score_value": score["value"],
            "score_min": score["min"],
            "score_max": score["max"],
            "score_label": score["label"],
            "summary": data["summary"],
            "transcript": [dict(item) for item in data["transcript"]],
            "details": data["details"],
            "report_url": data["report_url"],
            "attachments": tuple(dict(item) for item in data["attachments"]),
            "started_at": data["started_at"],
            "completed_at": data["completed_at"],
        }


class AssessmentResultOutSerializer(serializers.ModelSerializer):
    class Meta:
        model = Assessment
        fields = ["id", "status", "score_value", "score_min", "score_max", "score_label", "completed_at"]
        read_only_fields = fields


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class PackageListRequestSerializer(serializers.Serializer):
    """The unified-API package list request. The ids say who asks; every active package of the
    key's tenant is offered whatever the job, so they are accepted and logged, not used to filter."""

    job_id = serializers.CharField(max_length=200, required=False, allow_blank=True, allow_null=True)
    account_id = serializers.CharField(max_length=200, required=False, allow_blank=True, allow_null=True)
    provider = serializers.CharField(max_length=100, required=False, allow_blank=True, allow_null=True)


class PackageItemSerializer(serializers.ModelSerializer):
    id = serializers.SerializerMethodField()

    class Meta:
        model = Package
        fields = ["id", "name", "description", "type"]

    def get_id(self, package: Package) -> str:
        # Unified APIs treat ids as opaque strings.
        return str(package.pk)


class PackageListResponseSerializer(serializers.Serializer):
    packages = PackageItemSerializer(many=True)
