"""Prefetch templates shared by the hook services: every FHIR query the salvage model reads.

The observation codes are those of shared/spec/fhir-input-profile.md (tumour size, disease status,
performance status, HER2/ER/PR). `patient` and `conditions` are required: without them the service
cannot even tell whether the patient is in scope, so their absence is a 412; the others are
optional and their absence is reported on the card.
"""

from __future__ import annotations

LOINC = "http://loinc.org|"

OBSERVATION_CODES = (
    "21889-1",  # tumour size (mCODE tumor size; component 33728-7 longest dimension)
    "97509-4",  # cancer disease status
    "88040-1",  # cancer disease status, mCODE STU1/STU2 code (still read by the mapping)
    "89243-0",  # Karnofsky performance status
    "89247-1",  # ECOG performance status
    # HER2
    "48676-1", "85319-2", "85318-4", "31150-6", "72383-3", "49683-6", "74860-8",
    # ER
    "16112-5", "85337-4", "40556-3", "85329-1",
    # PR
    "16113-3", "85339-0", "40557-1", "85325-9",
)

SEARCH_PAGE_SIZE = 100  # fewer pages for a typical patient; servers may cap it lower

PATIENT_DATA_PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}&_count=%d" % SEARCH_PAGE_SIZE,
    "observations": (
        "Observation?patient={{context.patientId}}&code="
        + ",".join(LOINC + code for code in OBSERVATION_CODES)
        + "&_count=%d" % SEARCH_PAGE_SIZE
    ),
    "procedures": "Procedure?patient={{context.patientId}}&_count=%d" % SEARCH_PAGE_SIZE,
    "bodyStructures": "BodyStructure?patient={{context.patientId}}&_count=%d" % SEARCH_PAGE_SIZE,
    "medicationRequests": (
        "MedicationRequest?patient={{context.patientId}}&_count=%d" % SEARCH_PAGE_SIZE
    ),
    "medicationStatements": (
        "MedicationStatement?patient={{context.patientId}}&_count=%d" % SEARCH_PAGE_SIZE
    ),
}

CONDITIONS_KEY = "conditions"  # decides scope: when it is cut, scope itself is unknown
REQUIRED_KEYS = frozenset({"patient", CONDITIONS_KEY})
