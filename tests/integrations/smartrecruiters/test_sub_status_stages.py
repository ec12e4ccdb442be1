"""SmartRecruiters sub-statuses in the mirror are sub-stages of their status, so a mapping the wizard
saves for one ("Show sub-stages") is the (status, sub-status) pair that applications and webhooks
carry, and it matches a candidate moved there."""

import pytest

from integrations.mapping import pipeline, stage_mappings_save
from integrations.models import RemoteStage
from integrations.selectors import stage_mapping_matches
from integrations.smartrecruiters.provider import provider
from integrations.sync import mirror_page_store

from .conftest import Answer

pytestmark = pytest.mark.django_db


def _mirror_stages(connection, fake_sr):
    fake_sr.route("GET", r"/configuration/hiring-processes", Answer(200, {"content": [
        {"id": "hp-1", "subStatuses": {"INTERVIEW": ["AI screen", "Onsite"], "IN_REVIEW": [], "OFFERED": []}}]}))
    [page] = list(provider.pages(connection, kind="stages", cursor=None))
    mirror_page_store(connection=connection, kind="stages", items=page.items, emit=False)


def test_a_sub_status_is_mirrored_under_its_status(connection, fake_sr):
    _mirror_stages(connection, fake_sr)
    sub = RemoteStage.objects.get(connection=connection, remote_id="INTERVIEW/AI screen")
    assert (sub.parent_remote_id, sub.sub_status) == ("INTERVIEW", "AI screen")
    status = RemoteStage.objects.get(connection=connection, remote_id="INTERVIEW")
    assert (status.parent_remote_id, status.sub_status) == ("", "")
    options = {(o.stage, o.sub) for o in pipeline(connection=connection)}
    assert ("INTERVIEW", "AI screen") in options and ("INTERVIEW/AI screen", "") not in options
    # Without sub-stages the wizard lists the statuses only.
    assert all(o.sub == "" and "/" not in o.stage for o in pipeline(connection=connection, include_sub=False))


def test_a_mapping_of_a_sub_status_matches_a_move_into_it(connection, fake_sr, package):
    _mirror_stages(connection, fake_sr)
    option = next(o for o in pipeline(connection=connection) if o.sub == "Onsite")
    stage_mappings_save(connection=connection, rows=[{"stage": option.stage, "sub": option.sub, "package": package.pk}])
    moved = stage_mapping_matches(connection=connection, remote_job_id="j-1", remote_stage_id="INTERVIEW",
                                  remote_sub_status="Onsite")
    assert [m.package_id for m in moved] == [package.pk]
    assert stage_mapping_matches(connection=connection, remote_job_id="j-1", remote_stage_id="INTERVIEW",
                                 remote_sub_status="AI screen") == []
