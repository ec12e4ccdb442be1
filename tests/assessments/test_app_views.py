"""Recruiter pages /app/packages/ and /app/assessments/: scoped by membership."""

from decimal import Decimal

import pytest

from assessments.models import Status
from tests.factories import AssessmentFactory, MembershipFactory, PackageFactory, QuestionFactory, TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_tenants():
    tenant_a, tenant_b = TenantFactory(name="Acme"), TenantFactory(name="Globex")
    recruiter = MembershipFactory(tenant=tenant_a).user
    return tenant_a, tenant_b, recruiter


@pytest.mark.parametrize("url", ["/app/packages/", "/app/assessments/"])
def test_pages_need_a_login(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_packages_of_my_tenant_only(client, two_tenants):
    tenant_a, tenant_b, recruiter = two_tenants
    mine = PackageFactory(tenant=tenant_a, name="Backend interview", language="de", duration_minutes=45)
    for position in range(3):
        QuestionFactory(package=mine, position=position)
    PackageFactory(tenant=tenant_a, name="Retired package", active=False)
    PackageFactory(tenant=tenant_b, name="Globex secret package")
    client.force_login(recruiter)

    response = client.get("/app/packages/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Backend interview" in html and "45 min" in html and "de" in html
    assert [p.question_count for p in response.context["packages"]] == [3]
    assert "Globex secret package" not in html and "Retired package" not in html


def test_assessments_of_my_tenant_only(client, two_tenants):
    tenant_a, tenant_b, recruiter = two_tenants
    mine = AssessmentFactory(
        tenant=tenant_a, candidate_first_name="Ada", candidate_last_name="Mine", remote_job_title="Backend engineer",
        status=Status.COMPLETED, score_value=Decimal("72.50"), score_max=Decimal("100"), score_label="Good",
    )
    theirs = AssessmentFactory(tenant=tenant_b, candidate_last_name="Theirs", candidate_email="theirs@globex.example")
    client.force_login(recruiter)

    html = client.get("/app/assessments/").content.decode()

    assert "Ada Mine" in html and "Backend engineer" in html and "72.50 / 100 (Good)" in html and "Completed" in html
    assert f'href="/app/assessments/{mine.pk}/report"' in html
    assert "Theirs" not in html and "theirs@globex.example" not in html
    assert f"/app/assessments/{theirs.pk}/report" not in html


def test_a_user_without_membership_sees_nothing(client, two_tenants):
    tenant_a, _, _ = two_tenants
    AssessmentFactory(tenant=tenant_a, candidate_last_name="Hidden")
    PackageFactory(tenant=tenant_a, name="Hidden package")
    outsider = MembershipFactory(tenant=TenantFactory(active=False)).user  # member of an inactive tenant only
    client.force_login(outsider)

    assert "Hidden" not in client.get("/app/assessments/").content.decode()
    assert "Hidden package" not in client.get("/app/packages/").content.decode()


def test_filter_by_status_and_package(client, two_tenants):
    tenant_a, tenant_b, recruiter = two_tenants
    pkg_1, pkg_2 = PackageFactory(tenant=tenant_a, name="One"), PackageFactory(tenant=tenant_a, name="Two")
    done_1 = AssessmentFactory(tenant=tenant_a, package=pkg_1, status=Status.COMPLETED)
    open_1 = AssessmentFactory(tenant=tenant_a, package=pkg_1, status=Status.INVITED)
    done_2 = AssessmentFactory(tenant=tenant_a, package=pkg_2, status=Status.COMPLETED)
    client.force_login(recruiter)

    def ids(query: dict) -> set[int]:
        response = client.get("/app/assessments/", query)
        assert response.status_code == 200
        return {a.pk for a in response.context["page"].object_list}

    assert ids({}) == {done_1.pk, open_1.pk, done_2.pk}
    assert ids({"status": "completed"}) == {done_1.pk, done_2.pk}
    assert ids({"package": pkg_1.pk}) == {done_1.pk, open_1.pk}
    assert ids({"status": "completed", "package": pkg_1.pk}) == {done_1.pk}


def test_another_tenants_package_is_not_a_valid_filter(client, two_tenants):
    tenant_a, tenant_b, recruiter = two_tenants
    foreign_package = PackageFactory(tenant=tenant_b, name="Globex package")
    AssessmentFactory(tenant=tenant_b, package=foreign_package, candidate_last_name="Theirs")
    client.force_login(recruiter)

    response = client.get("/app/assessments/", {"package": foreign_package.pk})

    assert response.status_code == 200
    assert response.context["form"].errors["package"]
    assert "Theirs" not in response.content.decode()
    assert "Globex package" not in response.content.decode()  # not even offered as a choice


def test_pagination_keeps_the_filters(client, two_tenants):
    tenant_a, _, recruiter = two_tenants
    package = PackageFactory(tenant=tenant_a)
    AssessmentFactory.create_batch(30, tenant=tenant_a, package=package, status=Status.INVITED)
    AssessmentFactory(tenant=tenant_a, package=package, status=Status.COMPLETED)
    client.force_login(recruiter)

    first = client.get("/app/assessments/", {"status": "invited"})
    second = client.get("/app/assessments/", {"status": "invited", "page": 2})

    assert len(first.context["page"].object_list) == 25
    assert len(second.context["page"].object_list) == 5
    assert "?status=invited&amp;page=2" in first.content.decode()
    assert not {a.pk for a in first.context["page"].object_list} & {a.pk for a in second.context["page"].object_list}
    assert all(a.status == Status.INVITED for a in second.context["page"].object_list)


def test_purged_candidates_show_as_erased(client, two_tenants):
    from django.utils import timezone

    tenant_a, _, recruiter = two_tenants
    AssessmentFactory(tenant=tenant_a, candidate_first_name="", candidate_last_name="", candidate_email="",
                      personal_data_purged_at=timezone.now())
    client.force_login(recruiter)
    assert "<em>erased</em>" in client.get("/app/assessments/").content.decode()
