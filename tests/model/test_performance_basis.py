"""The poor-PS warning names the score that decided it (the more recent of KPS and ECOG)."""

from datetime import date

from cards.warning_cards import warning_cards
from cds_service.mapping import map_patient
from cds_service.model.assess import assess
from tests.support import fhir_builders as b
from tests.support.synthetic_patients import PATIENTS


def test_more_recent_ecog_decides_and_is_named_on_the_card() -> None:
    resources = PATIENTS["progressive-after-srs-in-field"]()
    pid = resources[0]["id"]
    resources = [r for r in resources if r["resourceType"] != "Observation"
                 or r["code"]["coding"][0]["code"] != "89243-0"]
    resources += [b.karnofsky(pid, 80, effective="2023-10-01"), b.ecog(pid, 3, "2024-02-20")]
    assessment = assess(map_patient(resources), date(2024, 3, 1))
    ps = assessment.performance_status
    assert (ps.kps, ps.ecog, ps.good, ps.basis) == (80, 3, False, "ECOG 3")
    [card] = [c for c in warning_cards(assessment)
              if c["source"]["topic"]["code"] == "poor-performance-status"]
    assert "ECOG 3" in card["summary"] and "KPS 80" not in card["summary"]


def _hormonal_card(name: str) -> dict:
    resources = PATIENTS[name]()
    pid = resources[0]["id"]
    resources.append(b.medication_request(pid, "letro-only", "letrozole", authored="2024-02-01"))
    resources = [r for r in resources if r.get("id") != f"{pid}-trastuzumab-rx"]
    assessment = assess(map_patient(resources), date(2024, 3, 1))
    [card] = [c for c in warning_cards(assessment)
              if c["source"]["topic"]["code"] == "hormonal-therapy-not-recommended"]
    return card


def test_hormonal_therapy_card_advice_fits_the_subtype() -> None:
    luminal_a = _hormonal_card("progressive-after-wbrt-limited")
    assert "CDK4/6" in luminal_a["detail"]
    her2 = _hormonal_card("progressive-after-srs-in-field")  # HER2+, ER-, PR-
    assert "CDK4/6" not in her2["detail"] and "HER2-directed" in her2["detail"]
    assert "HR+" not in her2["summary"]
