"""Issue 20 item 1 (CM §10a) end to end: the as-of vignettes (tests/support/as_of_vignettes.py) through
`POST /api/assessment?date=` the day before and the day after the later entry, and the later KPS
drop through the patient-view hook, reading every resource from the real test FHIR server (the
hook assesses today: a score dated tomorrow does not exist yet, the score before it counts)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask

from cds_service.web.assessment_api import bp
from tests.support import as_of_vignettes as v
from tests.support import fhir_builders as b
from tests.support.hook_requests import patient_view_without_prefetch

T = date(2024, 6, 1)


@pytest.fixture
def api():
    app = Flask(__name__)
    app.register_blueprint(bp)
    return app.test_client()


def _assess(api, resources: list[b.Resource], on: date) -> dict[str, Any]:
    response = api.post(f"/api/assessment?date={on.isoformat()}",
                        data=json.dumps(b.collection(resources)),
                        content_type="application/json")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


@pytest.mark.parametrize("vignette", v.VIGNETTES, ids=[x.name for x in v.VIGNETTES])
def test_assessment_api_before_and_after_the_later_entry(api, vignette: v.AsOfVignette) -> None:
    resources = vignette.build(T)
    v.check(vignette.name, False, _assess(api, resources, T - timedelta(days=1)))
    v.check(vignette.name, True, _assess(api, resources, T + timedelta(days=1)))


def _cards(live_service, server, resources: list[b.Resource]) -> dict[str, Any]:
    return patient_view_without_prefetch(live_service, server, resources,
                                         access_token="asof-token")


def _topics(result: dict[str, Any]) -> list[str]:
    return [c["source"]["topic"]["code"] for c in result["cards"]]


@pytest.mark.integration
def test_patient_view_uses_the_score_current_today_not_a_later_one(live_service,
                                                                    clean_fhir_server) -> None:
    # the poor KPS is dated tomorrow: today the good KPS 80 counts (no poor-PS card, no BSC)
    result = _cards(live_service, clean_fhir_server,
                    v.later_kps_drop(date.today() + timedelta(days=1)))
    assert result["cards"], result
    assert "poor-performance-status" not in _topics(result)
    assert "best supportive care" not in json.dumps(result).lower()
    assert "KPS 80" in json.dumps(result)


@pytest.mark.integration
def test_patient_view_after_the_kps_drop_shows_poor_performance(live_service,
                                                                clean_fhir_server) -> None:
    result = _cards(live_service, clean_fhir_server,
                    v.later_kps_drop(date.today() - timedelta(days=1)))
    assert "poor-performance-status" in _topics(result)
    assert "KPS 40" in json.dumps(result)
