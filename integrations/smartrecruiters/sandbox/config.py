"""The SmartRecruiters sandbox's settings: one frozen dataclass, with the values the demo and the
tests use. Secrets here are sandbox-only values (the fake SmartRecruiters' own)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SandboxConfig:
    # The fake company (the id of the contract's examples.json).
    company_id: str = "SmartCompany123"
    company_name: str = "Sandbox Company (SmartRecruiters)"

    # Master (partner) credentials SmartRecruiters issued to the vendor, i.e. to Stagehook.
    master_client_id: str = "sandbox-sr-master-client"
    master_client_secret: str = "sandbox-sr-master-secret-for-local-demo-only"
    # Scopes a master token carries (setUpIntegration needs both).
    master_scopes: tuple[str, ...] = ("partner_configuration_manage", "client_credentials_write")
    # Scopes a customer-level token carries.
    customer_scopes: tuple[str, ...] = (
        "assessment_result_manage",
        "assessment_orders_read",
        "candidates_read",
        "candidates_manage",
        "jobs_read",
        "configuration_read",
        "messages_read",
        "messages_write",
        "webhooks_manage",
    )
    # Seconds an access token lives (``expires_in``).
    token_ttl: int = 3600

    # A customer's own app (authorization code, "Without the marketplace"): the demo app seeded
    # for the default company. Its redirect URIs: any loopback Stagehook callback (below).
    own_app_client_id: str = "sandbox-sr-own-app-client"
    own_app_client_secret: str = "sandbox-sr-own-app-secret-for-local-demo-only"
    own_app_name: str = "Stagehook (own app)"
    # The redirect URIs a seeded (or ``loopback_callbacks``) app accepts besides its exact ones:
    # http://127.0.0.1:<port><path> and http://localhost:<port><path>.
    own_app_callback_path: str = "/smartrecruiters/oauth/callback"
    # Scopes an app may ask for on the authorization page.
    app_scopes: tuple[str, ...] = (
        "candidates_read",
        "candidates_manage",
        "jobs_read",
        "jobs_manage",
        "webhooks_manage",
        "users_read",
        "configuration_read",
        "reports_read",
    )
    # Seconds an authorization code may be exchanged (once), and an authorization-code access
    # token lives (``expires_in``; ``manage.py sandbox smartrecruiters tokens --lifetime``).
    code_ttl: int = 600
    app_token_ttl: int = 3600

    # Where Stagehook lives. SmartRecruiters learns Stagehook's URLs from the partner
    # configuration; this base is only what the banner prints and where a verb's hint points.
    stagehook_url: str = "http://127.0.0.1:8000/smartrecruiters/"

    host: str = "127.0.0.1"
    port: int = 8102
    # Base URL the sandbox puts in links and callback URLs; empty means http://{host}:{port}.
    public_url: str = ""

    # SmartRecruiters' documented limits, per credential.
    rate_limit: int = 10
    rate_window: float = 1.0
    concurrent: int = 8
    candidates_concurrent: int = 1

    page_size_default: int = 10
    page_size_max: int = 100

    # Candidates generated beside the seeded ones (benchmarks: 10000).
    generated_candidates: int = 0

    # Outgoing calls: webhook deliveries, activation handshakes, calls to Stagehook's endpoints.
    webhook_timeout: float = 5.0
    activation_timeout: float = 20.0
    out_of_order_hold: float = 5.0
    # Delays (seconds) before each retry of a failed delivery: SmartRecruiters' 1 m, 3 m, 10 m,
    # 45 m, 120 m ... 1440 m (10 retries over about a day). Tests shorten them.
    retry_delays: tuple[float, ...] = (60, 180, 600, 2700, 7200, 14400, 28800, 43200, 64800, 86400)
    # How long a rotated signing key keeps signing beside the new one.
    key_overlap_seconds: int = 86400

    # Only loopback clients may use /_sandbox/ (the control endpoints have no auth).
    control_clients: tuple[str, ...] = field(default=("127.0.0.1", "::1"))

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


SANDBOX_DEFAULTS = SandboxConfig()
