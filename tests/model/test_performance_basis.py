"""The poor-PS warning names the score that decided it (the more recent of KPS and ECOG)."""

from datetime import date

from cards.warning_cards import warning_cards
from cds_service.mapping import map_patient
from cds_service.model.assess import assess
from tests import fhir_builders as b
from tests.synthetic_patients import PATIENTS


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
