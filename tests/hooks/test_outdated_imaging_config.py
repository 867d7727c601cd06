"""The outdated-imaging limit is a site setting (SALVAGE_CDS_OUTDATED_IMAGING_DAYS, clinical-model
§10): the same patient-view call is `info` with the default 90 days and `warning` with a limit
longer than the age of the patient's latest MRI."""

from __future__ import annotations

from datetime import date

import pytest

from cds_service.assessment.pipeline import model_config
from cds_service.config import ServiceConfig
from cds_service.web.app import create_app
from tests.support import trust_patients as t
from tests.support.hook_requests import full_prefetch, hook_request

PID = "trust-config"
SCAN_AGE = 200


def main_card(outdated_imaging_days: int | None, tmp_path) -> dict:
    extra = {} if outdated_imaging_days is None else {"outdated_imaging_days":
                                                      outdated_imaging_days}
    app = create_app(ServiceConfig(database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}",
                                   auth_required=False, **extra))
    try:
        resources = t.srs_in_field(PID, date.today(), scan_age_days=SCAN_AGE)
        body = hook_request(PID, prefetch=full_prefetch(resources))
        response = app.test_client().post("/cds-services/bcbm-salvage", json=body)
        assert response.status_code == 200
        return response.get_json()["cards"][0]
    finally:
        app.extensions["salvage_cds"].close()


@pytest.mark.parametrize("limit, indicator", [(None, "info"), (SCAN_AGE - 1, "info"),
                                              (SCAN_AGE, "warning"), (365, "warning")])
def test_the_limit_decides_the_indicator(tmp_path, limit, indicator) -> None:
    assert main_card(limit, tmp_path)["indicator"] == indicator


def test_the_environment_variable_reaches_the_model() -> None:
    config = ServiceConfig.from_env({"SALVAGE_CDS_OUTDATED_IMAGING_DAYS": "30"})
    assert model_config(config).outdated_imaging_days == 30
    assert model_config(ServiceConfig()).outdated_imaging_days == 90
