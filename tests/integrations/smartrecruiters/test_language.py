"""The candidate's application language from a SmartRecruiters order reaches the assessment."""

from integrations.smartrecruiters import parsing


def test_the_order_candidates_application_language_is_kept(reference_fixtures):
    import json

    examples = json.loads((reference_fixtures / "smartrecruiters/assessment-partner/examples.json").read_text())
    order = next(v for k, v in examples.items() if "order" in k.lower() and isinstance(v, dict) and "candidate" in v)
    candidate = dict(order["candidate"], applicationLanguage="de")
    assert parsing.candidate_from(candidate).language == "de"
    assert parsing.candidate_from({"id": "c-1"}).language == ""
