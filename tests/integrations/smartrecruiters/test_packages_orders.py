"""Packages and orders, as SmartRecruiters calls them with a token from our endpoint."""

import json
import uuid

import pytest

from assessments.models import Assessment, Mode, Status
from integrations.models import WebhookEvent

from .conftest import order_body

H = {"content_type": "application/json"}


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    """POST JSON as SmartRecruiters does; the request's after-commit work (processing the stored
    order, the invitation) runs before it returns."""

    def send(path, body, bearer, **extra):
        raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(path, data=raw, HTTP_AUTHORIZATION=bearer, **H, **extra)

    return send


# --- packages -------------------------------------------------------------------------------------
def test_packages_are_a_bare_array_in_the_contract_shape(client, bearer, package, contract):
    response = client.get("/smartrecruiters/packages", HTTP_AUTHORIZATION=bearer,
                          HTTP_REQUESTER=json.dumps({"email": "hm@example.com"}))
    assert response.status_code == 200
    data = response.json()
    assert isinstance(data, list) and len(data) == 1
    item = data[0]
    for name in contract["schemas"]["AssessmentPackage"]["required"]:
        assert name in item
    assert item["id"] == str(package.pk) and item["type"] in contract["schemas"]["AssessmentType"]
    assert [a["description"] for a in item["assessments"]] == [q.text for q in package.questions.order_by("position")]
    for part in item["assessments"]:
        assert set(contract["schemas"]["Assessment"]["required"]) <= set(part)


def test_no_packages_is_204_without_a_body(client, bearer):
    response = client.get("/smartrecruiters/packages", HTTP_AUTHORIZATION=bearer)
    assert response.status_code == 204 and response.content == b""


def test_a_partner_field_filters_the_packages(client, bearer, package):
    assert client.get("/smartrecruiters/packages?language=de", HTTP_AUTHORIZATION=bearer).status_code == 204
    assert client.get("/smartrecruiters/packages?language=en&city=Berlin", HTTP_AUTHORIZATION=bearer).status_code == 200


@pytest.mark.parametrize("requester", ["not json", json.dumps({"name": "x"}), json.dumps(["a@b.c"])])
def test_an_invalid_requester_header_is_400(client, bearer, package, requester):
    response = client.get("/smartrecruiters/packages", HTTP_AUTHORIZATION=bearer, HTTP_REQUESTER=requester)
    assert response.status_code == 400 and "requester" in response.json()["error"]


def test_one_package_and_an_unknown_one(client, bearer, package):
    assert client.get(f"/smartrecruiters/packages/{package.pk}", HTTP_AUTHORIZATION=bearer).json()["name"] == package.name
    assert client.get("/smartrecruiters/packages/99999", HTTP_AUTHORIZATION=bearer).status_code == 404


@pytest.mark.parametrize("authorization", ["", "Bearer nope", "Basic abc"])
def test_without_our_token_nothing_is_listed(client, package, authorization):
    response = client.get("/smartrecruiters/packages", HTTP_AUTHORIZATION=authorization)
    assert response.status_code == 401


def test_another_connections_packages_are_not_visible(client, bearer, package):
    from tests.factories import PackageFactory

    other = PackageFactory()
    assert client.get(f"/smartrecruiters/packages/{other.pk}", HTTP_AUTHORIZATION=bearer).status_code == 404


# --- orders ---------------------------------------------------------------------------------------
def test_an_order_is_accepted_with_202_and_makes_one_invited_assessment(post, client, bearer, package, fake_sr,
                                                                        reference_fixtures, mailoutbox):
    order_id = str(uuid.uuid4())
    body = order_body(reference_fixtures, package_id=package.pk, fake_sr=fake_sr, order_id=order_id)
    for _ in range(5):
        response = post("/smartrecruiters/packages/orders", body, bearer)
        assert response.status_code == 202 and response.json() == {}
    assessment = Assessment.objects.get()
    assert assessment.remote_order_id == order_id and assessment.mode == Mode.ORDER
    assert assessment.callback_url == body["resultCallbackURL"]
    assert assessment.candidate_email == "ada.lovelace@example.com"
    assert assessment.remote_candidate_id == body["candidate"]["id"] and assessment.remote_job_title == "Support Specialist"
    assert assessment.status == Status.INVITED and len(mailoutbox) == 1
    assert WebhookEvent.objects.filter(event_id=f"order:{order_id}").count() == 1


def test_an_auto_triggered_order_without_requester_works_the_same(post, client, bearer, package, fake_sr, reference_fixtures):
    body = order_body(reference_fixtures, package_id=package.pk, fake_sr=fake_sr)
    del body["requester"], body["fields"]
    body["candidate"]["unknownField"] = {"nested": True}
    assert post("/smartrecruiters/packages/orders", body, bearer).status_code == 202
    assert Assessment.objects.get().status == Status.INVITED


def test_missing_fields_are_named(post, client, bearer, package, fake_sr, reference_fixtures):
    body = order_body(reference_fixtures, package_id=package.pk, fake_sr=fake_sr)
    del body["resultCallbackURL"], body["candidate"]
    response = post("/smartrecruiters/packages/orders", body, bearer)
    assert response.status_code == 400
    assert "resultCallbackURL" in response.json()["error"] and "candidate" in response.json()["error"]
    assert not WebhookEvent.objects.exists() and not Assessment.objects.exists()


def test_unknown_package_is_404(post, client, bearer, package, fake_sr, reference_fixtures):
    body = order_body(reference_fixtures, package_id=987654, fake_sr=fake_sr)
    assert post("/smartrecruiters/packages/orders", body, bearer).status_code == 404
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize("url", [
    "https://evil.example/assessment-api/v202010/orders/1b0b6c2e-7a3f-4d4e-9a53-2f7c1d9e8a10/results",
    "https://api.smartrecruiters.com/assessment-api/v202010/orders/not-a-uuid/results",
    "https://api.smartrecruiters.com/assessment-api/v202010/orders/",
])
def test_a_results_url_off_the_allow_list_or_without_an_order_id_is_400(post, client, bearer, package, fake_sr,
                                                                         reference_fixtures, url):
    body = order_body(reference_fixtures, package_id=package.pk, fake_sr=fake_sr)
    body["resultCallbackURL"] = url
    assert post("/smartrecruiters/packages/orders", body, bearer).status_code == 400
    assert not Assessment.objects.exists()


def test_another_companys_order_is_refused(post, client, bearer, package, fake_sr, reference_fixtures):
    body = order_body(reference_fixtures, package_id=package.pk, fake_sr=fake_sr)
    body["companyId"] = "OtherCompany"
    assert post("/smartrecruiters/packages/orders", body, bearer).status_code == 403


@pytest.mark.parametrize("raw,status", [(b"{not json", 400), (b"[]", 400), (b"x" * (1024 * 1024 + 1), 413)])
def test_malformed_and_oversized_bodies(post, client, bearer, package, raw, status):
    assert post("/smartrecruiters/packages/orders", raw, bearer).status_code == status
    assert not WebhookEvent.objects.exists()


def test_orders_need_our_token(post, client, package, fake_sr, reference_fixtures):
    body = order_body(reference_fixtures, package_id=package.pk, fake_sr=fake_sr)
    assert post("/smartrecruiters/packages/orders", body, "Bearer wrong").status_code == 401


# --- inline ---------------------------------------------------------------------------------------
def test_an_inline_order_answers_the_candidate_link_and_sends_no_email(post, client, bearer, package, fake_sr,
                                                                       reference_fixtures, mailoutbox):
    body = order_body(reference_fixtures, package_id=package.pk, fake_sr=fake_sr, inline=True)
    response = post("/smartrecruiters/packages/inline/orders", body, bearer)
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["url"] == data["assessmentPackageURL"] and "/i/" in data["url"]
    assert mailoutbox == []
    assessment = Assessment.objects.get()
    assert assessment.status == Status.INVITED

    # The candidate takes it and is offered the way back into the application.
    path = "/" + data["url"].split("/", 3)[3]
    assert client.post(path, {"consent": "on"}).status_code == 302
    answers = {f"q_{q.pk}": "I listen, apologise and solve it; context and outcome." for q in package.questions.all()}
    assert client.post(path + "questions/", answers).status_code == 302
    done = client.get(path + "done/")
    assert body["completedAssessmentCallbackUrl"] in done.content.decode()


def test_an_inline_order_needs_the_return_url_on_a_smartrecruiters_host(post, client, bearer, package, fake_sr,
                                                                        reference_fixtures):
    body = order_body(reference_fixtures, package_id=package.pk, fake_sr=fake_sr, inline=True)
    body["completedAssessmentCallbackUrl"] = "https://evil.example/continue"
    assert post("/smartrecruiters/packages/inline/orders", body, bearer).status_code == 400
    del body["completedAssessmentCallbackUrl"]
    response = post("/smartrecruiters/packages/inline/orders", body, bearer)
    assert response.status_code == 400 and "completedAssessmentCallbackUrl" in response.json()["error"]
    assert not Assessment.objects.exists()
