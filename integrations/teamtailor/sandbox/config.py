"""The sandbox's settings: one frozen dataclass, with the exact values the demo and the tests use."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SandboxConfig:
    # The fake company. The uuid is the one in Teamtailor's own partner-event example.
    company_uuid: str = "vAXspNm0J2Y"
    company_name: str = "Sandbox Company (Teamtailor)"
    # How the company's public API names the partner on its partner results.
    partner_name: str = "Stagehook"

    # Partner-level secrets (Teamtailor gives these to the partner, i.e. to Stagehook).
    partner_api_key: str = "sandbox-partner-api-key-for-local-demo-only"
    webhook_secret: str = "sandbox-partner-webhook-secret"
    # Company-level secrets (the customer creates these in Teamtailor's settings).
    api_key: str = "sandbox-company-api-key"
    company_webhook_secret: str = "sandbox-company-webhook-secret"
    # The provider key Teamtailor sends on every partner call; replaced by the activation JWS
    # after a successful /_sandbox/activate, as Teamtailor does.
    provider_key: str = "sandbox-provider-key-0001"

    # Where Stagehook's Teamtailor endpoints live: webhook, company-webhooks, activation/validate.
    stagehook_url: str = "http://127.0.0.1:8000/teamtailor/"

    host: str = "127.0.0.1"
    port: int = 8101
    # Base URL the sandbox puts in links and update-urls; empty means http://{host}:{port}.
    public_url: str = ""

    # X-Api-Version values: the public API accepts the dated versions listed, the partner API one.
    public_api_versions: tuple[str, ...] = ("20240904", "20161108")
    partner_api_version: str = "20180828"

    # Teamtailor's reported limit: about 50 requests per 10 s per key.
    rate_limit: int = 50
    rate_window: float = 10.0

    page_size_default: int = 10
    page_size_max: int = 30

    # Outgoing calls to Stagehook.
    webhook_timeout: float = 10.0
    # How long an out-of-order webhook is held back when no later webhook overtakes it.
    out_of_order_hold: float = 5.0

    # The webhook-data key a trigger's package id is sent under (Stagehook's config field id,
    # "_" arriving as "-" like every field id Teamtailor forwards).
    package_field: str = "package"

    # Only loopback clients may use /_sandbox/ (the control endpoints have no auth).
    control_clients: tuple[str, ...] = field(default=("127.0.0.1", "::1"))

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


SANDBOX_DEFAULTS = SandboxConfig()
