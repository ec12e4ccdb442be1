"""The connections page says what to do about a connection that needs attention, in the words of
its ATS and its way of connecting."""

import pytest

from integrations.models import ConnectionStatus
from integrations.selectors_app import connection_health
from integrations.smartrecruiters.constants import CRED_GRANT, GRANT_AUTHORIZATION_CODE
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("provider", "credentials", "expected"),
    [
        ("smartrecruiters", {CRED_GRANT: GRANT_AUTHORIZATION_CODE}, "Re-authorize Stagehook"),
        ("smartrecruiters", {}, "marketplace"),
        ("teamtailor", {}, "company API key"),
    ],
)
def test_needs_attention_fix_names_the_ats_way(provider, credentials, expected):
    connection = ConnectionFactory(provider=provider, status=ConnectionStatus.NEEDS_ATTENTION, credentials=credentials)
    assert expected in connection_health(connection=connection).fix


def test_an_own_app_fix_names_the_permission_and_the_users_role():
    connection = ConnectionFactory(provider="smartrecruiters", status=ConnectionStatus.NEEDS_ATTENTION,
                                   credentials={CRED_GRANT: GRANT_AUTHORIZATION_CODE})
    fix = connection_health(connection=connection).fix
    assert "allow it for the app in SmartRecruiters" in fix and "whose system role allows" in fix


def test_other_states_keep_the_generic_fix():
    connection = ConnectionFactory(provider="smartrecruiters", status=ConnectionStatus.PENDING,
                                   credentials={CRED_GRANT: GRANT_AUTHORIZATION_CODE})
    assert "Finish connecting" in connection_health(connection=connection).fix
