"""Provider keys, signatures and hosts (integrations/teamtailor/auth.py)."""

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest

from integrations.teamtailor import auth

NOW = 1_700_000_000
PARTNER_KEY = "partner-api-key-that-is-long-enough-for-hs256"


def _v1(secret: str, t: int, event_id: str) -> str:
    return hmac.new(secret.encode(), f"{t}.{event_id}".encode(), hashlib.sha256).hexdigest()


class TestPartnerSignature:
    def test_valid(self):
        header = f"t={NOW},v1={_v1('s3cret', NOW, 'evt-1')}"
        assert auth.partner_signature_valid(header, secret="s3cret", partner_event_id="evt-1", now=NOW)

    def test_extra_v0_part_and_spaces_are_fine(self):
        header = f"t={NOW}, v1={_v1('s3cret', NOW, 'evt-1')}, v0=deadbeef"
        assert auth.partner_signature_valid(header, secret="s3cret", partner_event_id="evt-1", now=NOW)

    @pytest.mark.parametrize(
        "header",
        [
            "",
            "garbage",
            f"t={NOW}",
            f"v1={_v1('s3cret', NOW, 'evt-1')}",
            f"t=abc,v1={_v1('s3cret', NOW, 'evt-1')}",
            f"t={NOW},v1={_v1('other', NOW, 'evt-1')}",
            f"t={NOW},v1={_v1('s3cret', NOW, 'evt-2')}",
            f"t={NOW + 1},v1={_v1('s3cret', NOW, 'evt-1')}",
        ],
    )
    def test_invalid(self, header):
        assert not auth.partner_signature_valid(header, secret="s3cret", partner_event_id="evt-1", now=NOW)

    @pytest.mark.parametrize("skew,ok", [(-300, True), (300, True), (-301, False), (301, False)])
    def test_tolerance_is_300_seconds(self, skew, ok):
        t = NOW + skew
        header = f"t={t},v1={_v1('s3cret', t, 'evt-1')}"
        assert auth.partner_signature_valid(header, secret="s3cret", partner_event_id="evt-1", now=NOW) is ok


class TestCompanySignature:
    body = b'{"payload":{"event_name":"job.update","data":{"id":"2"}},"signature":"x"}'

    def _v2(self, secret: str, t: int, message: bytes) -> str:
        digest = hmac.new(secret.encode(), f"{t}.".encode() + message, hashlib.sha256).hexdigest()
        return base64.b64encode(f"t={t},v2={digest}".encode()).decode()

    def test_v2_over_raw_body(self):
        header = self._v2("whsec", NOW, self.body)
        assert auth.company_signature_valid(header, secret="whsec", raw_body=self.body, now=NOW)

    def test_v2_over_compact_payload_as_teamtailor_docs_show(self):
        compact = json.dumps(json.loads(self.body)["payload"], separators=(",", ":")).encode()
        header = self._v2("whsec", NOW, compact)
        assert auth.company_signature_valid(header, secret="whsec", raw_body=self.body, now=NOW)

    def test_v2_tampered_body(self):
        header = self._v2("whsec", NOW, self.body)
        tampered = self.body.replace(b'"2"', b'"3"')
        assert not auth.company_signature_valid(header, secret="whsec", raw_body=tampered, now=NOW)

    @pytest.mark.parametrize("skew,ok", [(-300, True), (300, True), (-301, False), (301, False)])
    def test_v2_tolerance(self, skew, ok):
        header = self._v2("whsec", NOW + skew, self.body)
        assert auth.company_signature_valid(header, secret="whsec", raw_body=self.body, now=NOW) is ok

    def test_v2_wrong_secret_and_garbage(self):
        assert not auth.company_signature_valid(self._v2("other", NOW, self.body), secret="whsec", raw_body=self.body, now=NOW)
        assert not auth.company_signature_valid("not base64!!", secret="whsec", raw_body=self.body, now=NOW)
        assert not auth.company_signature_valid("", secret="whsec", raw_body=self.body, now=NOW)
        assert not auth.company_signature_valid(self._v2("", NOW, self.body), secret="", raw_body=self.body, now=NOW)

    def test_v1_only_when_allowed(self):
        digest = hmac.new(b"whsec", b"2", hashlib.sha256).hexdigest()
        header = base64.b64encode(digest.encode()).decode()
        assert not auth.company_signature_valid(header, secret="whsec", raw_body=self.body, data_id="2", now=NOW)
        assert auth.company_signature_valid(header, secret="whsec", raw_body=self.body, data_id="2", allow_v1=True, now=NOW)
        assert not auth.company_signature_valid(header, secret="whsec", raw_body=self.body, data_id="3", allow_v1=True, now=NOW)


class TestProviderKey:
    def test_hs256_with_our_key(self):
        key = jwt.encode({"connection_token": "tok"}, PARTNER_KEY, algorithm="HS256")
        assert auth.provider_key_claims(key, partner_api_key=PARTNER_KEY) == {"connection_token": "tok"}

    def test_other_key_rejected(self):
        key = jwt.encode({"connection_token": "tok"}, "someone-else-with-a-long-enough-secret-key", algorithm="HS256")
        with pytest.raises(auth.ProviderKeyInvalid):
            auth.provider_key_claims(key, partner_api_key=PARTNER_KEY)

    def test_alg_none_rejected(self):
        header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
        payload = base64.urlsafe_b64encode(b'{"connection_token":"tok"}').rstrip(b"=").decode()
        key = f"{header}.{payload}.x"
        with pytest.raises(auth.ProviderKeyInvalid):
            auth.provider_key_claims(key, partner_api_key=PARTNER_KEY)
        with pytest.raises(auth.ProviderKeyInvalid):
            auth.provider_key_claims_unverified(key)

    def test_hs512_rejected(self):
        key = jwt.encode({"connection_token": "tok"}, PARTNER_KEY * 2, algorithm="HS512")
        with pytest.raises(auth.ProviderKeyInvalid):
            auth.provider_key_claims(key, partner_api_key=PARTNER_KEY * 2)

    def test_no_partner_key_configured(self):
        key = jwt.encode({"connection_token": "tok"}, PARTNER_KEY, algorithm="HS256")
        with pytest.raises(auth.ProviderKeyInvalid):
            auth.provider_key_claims(key, partner_api_key="")

    def test_claim_spellings(self):
        assert auth.claim({"connection-token": "a"}, "connection_token") == "a"
        assert auth.claim({"data": {"connection_token": "b"}}, "connection_token") == "b"
        assert auth.claim({}, "connection_token") == ""


class TestApiHost:
    @pytest.mark.parametrize(
        "value,region,base",
        [
            ("api.teamtailor.com", "eu", "https://api.teamtailor.com"),
            ("https://api.na.teamtailor.com", "us", "https://api.na.teamtailor.com"),
            ("api.au.teamtailor.com", "au", "https://api.au.teamtailor.com"),
        ],
    )
    def test_teamtailor_hosts(self, value, region, base):
        assert auth.api_host_resolve(value) == auth.ApiHost(region=region, base_url=base)

    @pytest.mark.parametrize(
        "value",
        ["", "evil.example.com", "api.teamtailor.com.evil.com", "http://api.teamtailor.com", "user@api.teamtailor.com",
         "https://api.teamtailor.com/path", "127.0.0.1:8101"],
    )
    def test_refused(self, value, settings):
        settings.ATS_EXTRA_ALLOWED_HOSTS = []
        assert auth.api_host_resolve(value) is None

    def test_extra_allowed_dev_host(self, settings):
        settings.ATS_EXTRA_ALLOWED_HOSTS = ["127.0.0.1:8101"]
        assert auth.api_host_resolve("127.0.0.1:8101") == auth.ApiHost(region="", base_url="http://127.0.0.1:8101")
        assert auth.api_host_resolve("127.0.0.1:8102") is None


def test_signature_header_helpers_round_trip():
    t = int(time.time())
    header = auth.partner_signature_header(secret="s", partner_event_id="e", timestamp=t)
    assert auth.partner_signature_valid(header, secret="s", partner_event_id="e")
    body = b'{"payload":{}}'
    assert auth.company_signature_valid(auth.company_signature_header(secret="s", raw_body=body), secret="s", raw_body=body)


def test_extra_allowed_host_without_port_allows_any_port(settings):
    settings.ATS_EXTRA_ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    assert auth.api_host_resolve("127.0.0.1:54321") == auth.ApiHost(region="", base_url="http://127.0.0.1:54321")
    assert auth.api_host_resolve("10.0.0.1:54321") is None


def test_the_canonical_signature_ignores_spelling_but_not_content():
    header = auth.partner_signature_header(secret="s", partner_event_id="e", timestamp=1_700_000_000)
    t, v1 = (part.split("=", 1)[1] for part in header.split(","))
    same = [header, f"t={t},v1={v1.upper()}", f" t = {t} , v1 = {v1} ", f"t={t},v1={v1},v0={'f' * 64}",
            f"t={t},v1={v1},t=1", f"v1={v1},t={t}"]
    assert {auth.partner_signature_fingerprint(h) for h in same} == {auth.partner_signature_fingerprint(header)}
    other = auth.partner_signature_header(secret="s", partner_event_id="e", timestamp=1_700_000_001)
    assert auth.partner_signature_fingerprint(other) != auth.partner_signature_fingerprint(header)
    for garbled in ("", "t=,v1=", f"t=x{t},v1={v1}", f"t={t},v1={v1[:-1]}", f"t={t},v1={v1[:-1]}g"):
        assert auth.partner_signature_canonical(garbled) is None
