"""Factories for every record, used across the suite."""

import factory
from django.contrib.auth import get_user_model

from assessments.models import Assessment, Package, Question
from integrations.models import Connection, StageMapping
from tenants.models import Membership, Role, Tenant


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Tenant {n}")
    slug = factory.Sequence(lambda n: f"tenant-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}@example.com")
    email = factory.LazyAttribute(lambda u: u.username)
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def _save(self, create, extracted, **kwargs):
        if create:
            self.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    tenant = factory.SubFactory(TenantFactory)
    role = Role.RECRUITER


class PackageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Package

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Package {n}")
    description = "A structured interview."


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Question

    package = factory.SubFactory(PackageFactory)
    position = factory.Sequence(lambda n: n)
    text = "Tell us about a project you are proud of."
    rubric = ["names the goal", "explains own contribution", "describes the outcome"]


class ConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Connection

    tenant = factory.SubFactory(TenantFactory)
    provider = "teamtailor"
    remote_account_id = factory.Sequence(lambda n: f"company-{n}")
    status = "active"
    credentials = factory.LazyFunction(dict)


class StageMappingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StageMapping

    connection = factory.SubFactory(ConnectionFactory)
    remote_stage_id = factory.Sequence(lambda n: str(n))
    package = factory.SubFactory(PackageFactory, tenant=factory.SelfAttribute("..connection.tenant"))


class AssessmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Assessment

    tenant = factory.SubFactory(TenantFactory)
    package = factory.SubFactory(PackageFactory, tenant=factory.SelfAttribute("..tenant"))
    candidate_first_name = "Ada"
    candidate_last_name = "Lovelace"
    candidate_email = factory.Sequence(lambda n: f"candidate{n}@example.com")
