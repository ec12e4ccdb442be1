"""Machine APIs under /api/v1/: the results API (vendor's AI engine) and the unified-API package list.

Both authenticate with a tenant API key (see ``assessments.apikeys``) and answer JSON errors only:
401 for a missing, unknown, wrong or revoked key (one answer for all, no oracle), 404 for another
tenant's assessment, 400 naming the field, 409 for a result on an assessment that cannot take one,
413 for a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``.
"""

import base64
import binascii
import logging

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import APIException, AuthenticationFailed, MethodNotAllowed, NotFound
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants.logsafe import log_safe

from .apikeys import SIGNATURE_TOLERANCE_SECONDS, api_key_signature_check, tenant_api_key_authenticate
from .exceptions import AssessmentError, IllegalTransition
from .models import TenantApiKey
from .parsers import DepthLimitedJSONParser
from .selectors_app import assessment_get_for_tenant, package_list
from .serializers import (
    AssessmentResultOutSerializer,
    AssessmentResultSerializer,
    ErrorSerializer,
    PackageListRequestSerializer,
    PackageListResponseSerializer,
)
from .services import assessment_record_result

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Stagehook-Signature"
TIMESTAMP_HEADER = "X-Stagehook-Timestamp"
_INVALID_KEY = "Invalid API key."


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large."
    default_code = "payload_too_large"


class BearerApiKeyAuthentication(BaseAuthentication):
    """``Authorization: Bearer <tenant API key>``."""

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"bearer":
            return None
        if len(parts) != 2:
            raise AuthenticationFailed(_INVALID_KEY)
        api_key = tenant_api_key_authenticate(parts[1].decode("latin-1"))
        if api_key is None:
            raise AuthenticationFailed(_INVALID_KEY)
        return (None, api_key)

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) when the key is missing.
        return 'Bearer realm="stagehook"'


class BasicApiKeyAuthentication(BaseAuthentication):
    """HTTP Basic: the password is the tenant API key, the username its prefix (``shk_xxxxxxxx``) or
    the tenant's slug; either is accepted because some unified-API dashboards only offer an
    "account" field. When ``X-Stagehook-Signature`` is present it must sign the raw body."""

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"basic":
            return None
        try:
            if len(parts) != 2:
                raise ValueError
            username, _, raw_key = base64.b64decode(parts[1], validate=True).decode("utf-8").partition(":")
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise AuthenticationFailed(_INVALID_KEY) from None
        api_key = tenant_api_key_authenticate(raw_key)
        if api_key is None or username not in (api_key.prefix, api_key.tenant.slug):
            raise AuthenticationFailed(_INVALID_KEY)
        signature = request.META.get("HTTP_X_STAGEHOOK_SIGNATURE")
        if signature is not None:
            # The raw bytes as received; request.data later parses the same bytes.
            refused = api_key_signature_check(
                api_key=api_key, raw_key=raw_key, body=request._request.body, signature=signature,
                timestamp=request.META.get("HTTP_X_STAGEHOOK_TIMESTAMP"),
            )
            if refused:
                raise AuthenticationFailed(refused)
        return (None, api_key)

    def authenticate_header(self, request) -> str:
        return 'Basic realm="stagehook"'


class HasTenantApiKey(BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, TenantApiKey)


class BearerApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = BearerApiKeyAuthentication
    name = "tenantApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A tenant API key (``shk_…``), created in the Stagehook admin.",
        }


class BasicApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = BasicApiKeyAuthentication
    name = "tenantApiKeyBasic"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "basic",
            "description": "Username: the key prefix (``shk_xxxxxxxx``) or the tenant slug; password: the tenant API key.",
        }


class TenantApiView(APIView):
    """JSON in, JSON out, a tenant API key required, the body size checked before anything reads it."""

    parser_classes = [DepthLimitedJSONParser]
    renderer_classes = [JSONRenderer]
    permission_classes = [HasTenantApiKey]

    def initial(self, request, *args, **kwargs):
        # A wrong method is a 405 whoever asks (DRF would authenticate first and answer 401).
        if request.method.lower() not in self.http_method_names or not hasattr(self, request.method.lower()):
            raise MethodNotAllowed(request.method)
        # DRF streams the body past Django's DATA_UPLOAD_MAX_MEMORY_SIZE check: enforce it here,
        # before authentication may read the body for the signature.
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise PayloadTooLarge()
        super().initial(request, *args, **kwargs)


_errors = {
    400: OpenApiResponse(description="Invalid body; the answer names each invalid field."),
    401: OpenApiResponse(ErrorSerializer, description="Missing, unknown, wrong or revoked API key."),
    413: OpenApiResponse(ErrorSerializer, description="Body over 1 MiB."),
    415: OpenApiResponse(ErrorSerializer, description="Not application/json."),
}


class AssessmentResultView(TenantApiView):
    authentication_classes = [BearerApiKeyAuthentication]

    @extend_schema(
        operation_id="assessment_result_create",
        summary="Post an assessment's result",
        description=(
            "Stores the result of the assessment and completes it. The assessment must belong to the "
            "key's tenant and still be open; posting a second result answers 409."
        ),
        request=AssessmentResultSerializer,
        responses={
            200: AssessmentResultOutSerializer,
            404: OpenApiResponse(ErrorSerializer, description="No such assessment for this key's tenant."),
            409: OpenApiResponse(ErrorSerializer, description="The assessment cannot take a result (e.g. completed)."),
            **_errors,
        },
        tags=["results"],
    )
    def post(self, request, assessment_id: int):
        api_key: TenantApiKey = request.auth
        assessment = assessment_get_for_tenant(tenant=api_key.tenant, assessment_id=assessment_id)
        if assessment is None:
            raise NotFound("No such assessment.")
        serializer = AssessmentResultSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            assessment = assessment_record_result(
                assessment=assessment, actor=f"api-key:{api_key.prefix}", **serializer.service_kwargs()
            )
        except IllegalTransition as exc:
            return Response(
                {"detail": f"The assessment cannot take a result: {exc.message}.", "code": exc.code},
                status=status.HTTP_409_CONFLICT,
            )
        except AssessmentError as exc:
            # The serializer checks the same rules; this keeps the service the final word.
            return Response({"detail": exc.message, "code": exc.code}, status=status.HTTP_400_BAD_REQUEST)
        return Response(AssessmentResultOutSerializer(assessment).data)


class PackageListView(TenantApiView):
    authentication_classes = [BasicApiKeyAuthentication]

    @extend_schema(
        operation_id="package_list",
        summary="List the tenant's packages (unified-API style)",
        description=(
            "Every active package of the key's tenant. HTTP Basic: username = the key prefix or the "
            "tenant slug, password = the tenant API key.\n\n"
            "Optional request signature, replay-proof: `X-Stagehook-Timestamp: <Unix seconds>` and "
            "`X-Stagehook-Signature: sha256=<hex HMAC-SHA256(API key, \"<timestamp>.\" + raw body)>`. "
            f"The timestamp must be within {SIGNATURE_TOLERANCE_SECONDS} s of our clock and each "
            "signature is accepted once (a second request needs a new timestamp, i.e. at most one "
            "identical request per second). Without the timestamp header the signature covers the raw "
            "body alone (the original scheme): it proves the body, but cannot stop a replay; a "
            "deployment may refuse it (`API_SIGNATURE_REQUIRE_TIMESTAMP`). Any refused signature "
            "answers 401 saying why."
        ),
        parameters=[
            OpenApiParameter(
                SIGNATURE_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=False,
                description=(
                    "sha256=<hex HMAC-SHA256 keyed with the API key, of \"<timestamp>.\" + the raw body "
                    "(with X-Stagehook-Timestamp), else of the raw body>"
                ),
            ),
            OpenApiParameter(
                TIMESTAMP_HEADER,
                OpenApiTypes.INT,
                OpenApiParameter.HEADER,
                required=False,
                description=f"Unix seconds when the request was signed; within {SIGNATURE_TOLERANCE_SECONDS} s.",
            ),
        ],
        request=PackageListRequestSerializer,
        responses={200: PackageListResponseSerializer, **_errors},
        tags=["packages"],
    )
    def post(self, request):
        api_key: TenantApiKey = request.auth
        serializer = PackageListRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        logger.info(
            "package list for tenant %s (provider=%s account=%s job=%s)",
            api_key.tenant_id,
            log_safe(serializer.validated_data.get("provider")),
            log_safe(serializer.validated_data.get("account_id")),
            log_safe(serializer.validated_data.get("job_id")),
        )
        packages = package_list(tenant=api_key.tenant)
        return Response(PackageListResponseSerializer({"packages": packages}).data)
