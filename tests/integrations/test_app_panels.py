"""What integrations shows on the assessments app's recruiter pages: the write-backs on the
detail page, the connection's name as the source, and the language an ATS gave for the candidate."""

import pytest

from assessments.source_labels import source_labels
from integrations.events import event_dispatch
from integrations.models import Delivery, DeliveryChannel, DeliveryStatus
from integrations.providers import AssessmentOrdered, Candidate
from tests.factories import AssessmentFactory, ConnectionFactory, MembershipFactory, PackageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection():
    return ConnectionFactory(name="Acme Teamtailor", status="active")


def test_the_detail_page_lists_every_write_back_with_its_answer(client, connection):
    assessment = AssessmentFactory(tenant=connection.tenant, source=connection.source_key, status="completed")
    Delivery.objects.create(connection=connection, assessment=assessment, channel=DeliveryChannel.RESULT,
                            assessment_status="invited", status=DeliveryStatus.SUPERSEDED, attempts=2,
                            last_status_code=503, last_error="service unavailable")
    Delivery.objects.create(connection=connection, assessment=assessment, channel=DeliveryChannel.RESULT,
                            assessment_status="completed", status=DeliveryStatus.SENT, attempts=1, last_status_code=200)
    client.force_login(MembershipFactory(tenant=connection.tenant).user)
    html = client.get(f"/app/assessments/{assessment.pk}/").content.decode()
    assert "Write-backs to the ATS" in html
    assert html.count('class="delivery-') == 2
    assert "HTTP 503" in html and "service unavailable" in html and "Superseded" in html and "HTTP 200" in html


def test_an_assessment_of_no_connection_shows_no_write_back_panel(client, connection):
    assessment = AssessmentFactory(tenant=connection.tenant, source="api:engine")
    client.force_login(MembershipFactory(tenant=connection.tenant).user)
    assert "Write-backs to the ATS" not in client.get(f"/app/assessments/{assessment.pk}/").content.decode()


def test_sources_are_named_by_their_connection(connection):
    other = ConnectionFactory(name="")
    labels = source_labels([connection.source_key, other.source_key, "connection:999999", "api:engine"])
    assert labels[connection.source_key] == "Acme Teamtailor"
    assert labels[other.source_key] == f"{other.provider.title()} ({other.tenant.name})"
    assert "connection:999999" not in labels and "api:engine" not in labels


def test_an_order_carries_the_candidates_language_and_the_connection_name(connection, django_capture_on_commit_callbacks):
    package = PackageFactory(tenant=connection.tenant)
    event = AssessmentOrdered(
        remote_order_id="o-1", package_id=str(package.pk),
        candidate=Candidate(remote_id="c-1", first_name="Ada", email="ada@example.com", language="de"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        outcome = event_dispatch(connection=connection, event=event)
    assessment = package.assessments.get(pk=outcome.assessment_id)
    assert (assessment.language, assessment.source_label) == ("de", "Acme Teamtailor")
