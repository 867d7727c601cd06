"""Golden responses of patient-view for the synthetic patients, as skeletons.

A skeleton keeps what a clinician and an EHR rely on and drops what changes per call (uuids):
summary, indicator, topic, the detail itself line by line (what the clinician reads), each
suggestion's label / isRecommended / actions (type, resource type, project codes, doses, the
re-irradiation flag), link types and override-reason codes. The calls are made on a fixed day
(`GOLDEN_DAY`, `frozen_today`): the card says how old the imaging is.

Regenerate after a deliberate change of the model or the cards, then read the diff:

    .venv/bin/python -m tests.support.golden --write
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, tzinfo
from pathlib import Path
from typing import Any

from cards import codes

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "hooks" / "golden"
GOLDEN_DAY = date(2024, 3, 1)  # the vignettes' assessment date: imaging days to weeks old


@contextmanager
def frozen_today(day: date = GOLDEN_DAY) -> Iterator[None]:
    """Hook calls answered as if today were `day` (the service reads the UTC clock per call,
    `model.assessment.assessment_date_at`): noon UTC of `day`."""
    from cds_service.web import cds_blueprint

    class _Clock(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
            noon = datetime.combine(day, time(12), tzinfo=UTC)
            return noon.astimezone(tz) if tz is not None else noon.replace(tzinfo=None)

    original = cds_blueprint.datetime
    cds_blueprint.datetime = _Clock  # type: ignore[misc]
    try:
        yield
    finally:
        cds_blueprint.datetime = original  # type: ignore[misc]
HEADING = re.compile(r"^\*\*([^*]+)\*\*$", re.MULTILINE)
# The imaging's age grows by one every day (the hooks assess on today's date): kept as "N".
IMAGING_AGE = re.compile(r"\b\d+ days old\b")


def _resource_skeleton(resource: dict[str, Any]) -> dict[str, Any]:
    concept = resource.get("code") or resource.get("medicationCodeableConcept") or {}
    out: dict[str, Any] = {
        "resourceType": resource["resourceType"],
        "codes": [f"{c['system'].rsplit('/', 1)[-1]}|{c['code']}" for c in concept.get("coding", [])],
    }
    doses = []
    for ext in resource.get("extension", []):
        if ext["url"] == codes.DOSE_PRESCRIBED_TO_VOLUME:
            parts = {s["url"]: s for s in ext["extension"]}
            doses.append([parts["totalDose"]["valueQuantity"]["value"],
                          parts["fractions"]["valuePositiveInt"]])
        if ext["url"] == codes.REIRRADIATION_EXTENSION:
            out["reirradiation"] = ext["valueBoolean"]
    if doses:
        out["doses_cgy_fractions"] = doses
    return out


def skeleton(response: dict[str, Any]) -> list[dict[str, Any]]:
    cards = []
    for card in response["cards"]:
        cards.append({
            "summary": IMAGING_AGE.sub("N days old", card["summary"]),
            "indicator": card["indicator"],
            "topic": card["source"]["topic"]["code"],
            "sections": HEADING.findall(card.get("detail", "")),
            "detail": card.get("detail", "").splitlines(),
            "selectionBehavior": card.get("selectionBehavior"),
            "suggestions": [
                {"label": s["label"], "isRecommended": s.get("isRecommended"),
                 "actions": [{"type": a["type"], **_resource_skeleton(a["resource"])}
                             if "resource" in a else {"type": a["type"],
                                                      "resourceId": a["resourceId"]}
                             for a in s["actions"]]}
                for s in card.get("suggestions", [])
            ],
            "links": [link["type"] for link in card.get("links", [])],
            "overrideReasons": [r["code"] for r in card.get("overrideReasons", [])],
        })
    return cards


def golden_path(name: str) -> Path:
    return GOLDEN_DIR / f"{name}.json"


def load(name: str) -> list[dict[str, Any]]:
    return json.loads(golden_path(name).read_text("utf-8"))


def without_detail(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A skeleton minus the detail text, for calls answered on the real day (a live service):
    the detail says how old the imaging and the patient are."""
    return [{k: v for k, v in card.items() if k != "detail"} for card in cards]


OUTDATED_SUMMARY = re.compile(r"^Brain MRI [^:]+ old: repeat MRI first\. ")


def as_answered_today(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A live service answers on the real day, when the synthetic patients' 2024 MRIs are
    outdated (clinical-model §10): the main card's summary is led by the MRI's age, its
    indicator is info and no local option is pre-selected (cards/imaging_age.py). This maps a
    skeleton answered today back to the golden day's, so everything else is compared as is;
    the test asserts the outdated form itself."""
    out = []
    for card in without_detail(cards):
        if OUTDATED_SUMMARY.match(card["summary"]):
            # the situation follows the age, cut to fit 140 characters: compared by the test
            card = {**card, "summary": None, "indicator": "warning",
                    "suggestions": [{**s, "isRecommended": None} for s in card["suggestions"]]}
        out.append(card)
    return out


def write_all() -> None:
    from cds_service.config import ServiceConfig
    from cds_service.web.app import create_app
    from tests.support.hook_requests import full_prefetch, hook_request
    from tests.support.synthetic_patients import PATIENTS, patient_id

    GOLDEN_DIR.mkdir(exist_ok=True)
    # a file database: the issued cards are written in the background on other connections,
    # which an in-memory SQLite database does not share (they logged "not recorded")
    scratch = tempfile.mkdtemp(prefix="golden-")
    app = create_app(ServiceConfig(database_url=f"sqlite:///{scratch}/golden.sqlite3",
                                   auth_required=False, public_base_url="http://localhost"))
    client = app.test_client()
    for name, build in PATIENTS.items():
        body = hook_request(patient_id(name), prefetch=full_prefetch(build()))
        with frozen_today():
            response = client.post("/cds-services/bcbm-salvage", json=body)
        assert response.status_code == 200, response.get_data(as_text=True)
        text = json.dumps(skeleton(response.get_json()), indent=2, ensure_ascii=False) + "\n"
        golden_path(name).write_text(text, "utf-8")
        print(f"{golden_path(name)} (answered on {GOLDEN_DAY.isoformat()})")
    app.extensions["salvage_cds"].close()
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:] in (["-h"], ["--help"]):
        print("usage: python -m tests.support.golden --write\n"
              "rewrites tests/hooks/golden/ from the synthetic patients, answered on "
              f"{GOLDEN_DAY.isoformat()}")
        raise SystemExit(0)
    if sys.argv[1:] != ["--write"]:
        raise SystemExit("usage: python -m tests.support.golden --write")
    write_all()
