"""The SmartRecruiters sandbox's test handle (``HANDLE``, found by tests/sandbox_fixtures.py):
``sandbox_server("smartrecruiters")`` returns one. It calls the sandbox's API as Stagehook
would (tokens from ``/identity/oauth/token``) and drives its scenarios over the ``/_sandbox/``
control endpoints."""

from __future__ import annotations

import json
import time
from typing import Any

import requests

from tests.sandbox_fixtures import RunningSandbox

PARTNER = "/assessment-api/v202010"
WEBHOOKS = "/webhooks-api/v201907"
# What Stagehook gives SmartRecruiters in setUpIntegration (the sandbox keeps it for orders).
STAGEHOOK_CLIENT = {"clientId": "sh_sr_test_client", "clientSecret": "sh-sr-test-secret"}


class RunningSmartRecruitersSandbox(RunningSandbox):
    customer: dict[str, str] | None = None

    # --- tokens and the API --------------------------------------------------------------------
    def token(self, client_id: str, client_secret: str) -> requests.Response:
        return self.http.post(
            f"{self.url}/identity/oauth/token",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret},
            timeout=30,
        )

    def master_token(self) -> str:
        response = self.token(self.config.master_client_id, self.config.master_client_secret)
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def customer_token(self) -> str:
        assert self.customer is not None, "integrate() first"
        response = self.token(self.customer["clientId"], self.customer["clientSecret"])
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def api(
        self,
        method: str,
        path: str,
        *,
        token: str | None,
        payload: Any = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Call the API with ``token`` (None: no Authorization); ``payload`` goes as JSON."""
        base: dict[str, str] = {"Accept": "application/json"}
        if token is not None:
            base["Authorization"] = f"Bearer {token}"
        if payload is not None:
            base["Content-Type"] = "application/json"
            kwargs["data"] = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
        merged = {k: v for k, v in {**base, **(headers or {})}.items() if v is not None}
        return self.http.request(method, self.url + path, headers=merged, timeout=30, **kwargs)

    # --- set-up as Stagehook does it ---------------------------------------------------------------
    def partner_configuration(self, stagehook: str, *, display_mode: str = "REDIRECT") -> dict:
        """PUT a partner configuration pointing at ``stagehook`` (a base URL ending in /)."""
        body = {
            "consentUrl": f"{stagehook}integration",
            "consentDisplayMode": display_mode,
            "assessmentPackageListUrl": f"{stagehook}packages",
            "singleAssessmentPackageUrl": f"{stagehook}packages/{{id}}",
            "packageOrderUrl": f"{stagehook}packages/orders",
            "inlineAssessmentPackageOrderUrl": f"{stagehook}packages/inline/orders",
            "oauthTokenUrl": f"{stagehook}oauth/token",
            "integrationDisableUrl": f"{stagehook}integrations/companies",
            "fields": [{"id": "seniority", "name": "Seniority", "description": "junior or senior"}],
            "supportedAssessmentTypes": ["VIDEO_INTERVIEW", "INLINE_ASSESSMENT"],
        }
        response = self.api("PUT", f"{PARTNER}/partner/configuration", token=self.master_token(), payload=body)
        assert response.status_code == 200, response.text
        return response.json()

    def set_up_integration(self, company_id: str | None = None, credentials: dict | None = None) -> requests.Response:
        company_id = company_id or self.config.company_id
        return self.api(
            "POST", f"{PARTNER}/integration/company/{company_id}", token=self.master_token(),
            payload=credentials or STAGEHOOK_CLIENT,
        )

    def integrate(self, stagehook: str = "http://127.0.0.1:9/smartrecruiters/") -> dict[str, str]:
        """Configuration, consent and setUpIntegration: the customer-level credentials."""
        if self.app.state.partner_configuration is None:
            self.partner_configuration(stagehook)
        self.consent()
        response = self.set_up_integration()
        assert response.status_code == 200, response.text
        self.customer = response.json()
        return self.customer

    def subscribe(self, callback_url: str, events: list[str] | None = None, *, activate: bool = True) -> dict:
        token = self.customer_token()
        response = self.api(
            "POST", f"{WEBHOOKS}/subscriptions", token=token,
            payload={"callbackUrl": callback_url, "events": events or ["application.status.updated"]},
        )
        assert response.status_code == 201, response.text
        subscription = response.json()
        if activate:
            answer = self.api("PUT", f"{WEBHOOKS}/subscriptions/{subscription['id']}/activation", token=token)
            assert answer.status_code == 204, answer.text
        return subscription

    def secret_key(self, subscription_id: str) -> str:
        response = self.api("POST", f"{WEBHOOKS}/subscriptions/{subscription_id}/secret-key", token=self.customer_token())
        assert response.status_code == 201, response.text
        return response.json()["secretKey"]

    # --- scenarios ---------------------------------------------------------------------------
    def consent(
        self,
        company_id: str | None = None,
        *,
        session: dict | None = None,
        login: dict | None = None,
        form: dict | None = None,
    ) -> dict:
        """Mark the company consenting and get the consent URL; with ``session`` (cookies) and/or
        ``login`` ({login, password}) the sandbox also drives Stagehook's pages to the end."""
        payload: dict[str, Any] = {"session": session, "login": login, "form": form}
        if company_id:
            payload["company_id"] = company_id
        return self._control_json("POST", "consent", payload)

    def order(self, candidate_id: str, job_id: str, *, mode: str = "ad-hoc", **options: Any) -> dict:
        """``options``: package, status, sub_status (auto-trigger), requester, fields."""
        return self._control_json("POST", "orders", {"candidate_id": candidate_id, "job_id": job_id, "mode": mode, **options})

    def resend(self, order_id: str) -> dict:
        return self._control_json("POST", f"orders/{order_id}/resend")["order"]

    def move(self, candidate_id: str, job_id: str, status: str, sub_status: str | None = None) -> dict:
        return self._control_json(
            "POST", "applications/move", {"candidate_id": candidate_id, "job_id": job_id, "status": status, "sub_status": sub_status}
        )

    def orders(self, candidate_id: str | None = None) -> list[dict]:
        return self._control_json("GET", "orders" + (f"?candidate_id={candidate_id}" if candidate_id else ""))["orders"]

    def wait_for_result(self, status: str, *, order_id: str | None = None, timeout: float = 30.0) -> dict:
        """Poll until the order's (default: the newest order's) result has ``status``."""
        deadline = time.monotonic() + timeout
        while True:
            orders = [o for o in self.orders() if order_id in (None, o["orderId"])]
            if orders and orders[-1]["result"].get("status") == status:
                return orders[-1]
            if time.monotonic() > deadline:
                found = orders[-1]["result"].get("status") if orders else "no order"
                raise AssertionError(f"no result reached {status} within {timeout} s (last: {found})")
            time.sleep(0.1)  # polling the condition above against its deadline

    def uninstall(self, company_id: str | None = None) -> dict:
        return self._control_json("POST", "uninstall", {"company_id": company_id} if company_id else {})

    def deliveries(self) -> list[dict]:
        return self._control_json("GET", "deliveries")["deliveries"]

    def retry_deliveries(self) -> dict:
        return self._control_json("POST", "deliveries/retry")

    def subscriptions(self) -> list[dict]:
        return self._control_json("GET", "subscriptions")["subscriptions"]

    def shares(self) -> list[dict]:
        return self._control_json("GET", "shares")["shares"]

    def companies(self) -> dict:
        return self._control_json("GET", "companies")

    def advance_clock(self, seconds: float) -> dict:
        return self._control_json("POST", "clock", {"advance": seconds})

    def expire_tokens(self) -> int:
        return self._control_json("POST", "tokens/expire")["expired"]

    def seed(self, candidates: int) -> int:
        return self._control_json("POST", "seed", {"candidates": candidates})["candidates"]

    def wait_background(self, timeout: float = 10.0) -> None:
        self.app.kit.wait_background(timeout)


HANDLE = RunningSmartRecruitersSandbox
