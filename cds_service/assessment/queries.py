"""Every FHIR query the assessment reads, as CDS Hooks prefetch templates.

The hook services declare them as their prefetch (and the server fetches what was not
prefetched); the SMART app renders the same templates for its own reads — one set of queries for
every path into the assessment.

Each query asks only for what the mapping reads, with the codes taken from the mapping's own
tables (`cds_service.mapping.codes`, the one home of every code) — and no narrower than that: a
shape the mapping accepts must never be filtered out by the query that fetches it.

- Observations: by `code` (tumour size, disease status, KPS/ECOG, HER2/ER/PR), and receptor panels
  by `component-code` (the mapping reads HER2/ER/PR from a panel's components).
- Procedures: by `code` (radiotherapy course, brain surgery), and by `_profile` (the mapping also
  counts a course-summary or cancer-related-surgical-procedure Procedure with any code).
- Conditions, BodyStructures, MedicationRequests, MedicationStatements: not filtered, because no
  FHIR search can express what the mapping accepts — ICD-10 ranges read by prefix (C50.*, C78.*),
  a primary cancer known by profile and breast bodySite, the related primary of a metastasis
  (any code: it decides whether brain metastases come from breast cancer); lesions in the brain by
  a link to a brain-metastasis Condition; drugs recognised by name in text or through a Medication,
  and earlier (stopped) steroid orders for the dose trend. See docs/fhir-mapping.md.

`patient` and `conditions` are required: without them the service cannot even tell whether the
patient is in scope, so their absence is a 412; the others are optional and their absence is
reported on the card.
"""

from __future__ import annotations

from cds_service.mapping import codes

# Page sizes: one round trip for a typical chart. The filtered queries return tens of resources;
# the unfiltered ones may return hundreds for a patient treated over years. Servers may cap
# `_count` lower; `next` links are followed (up to FHIR_MAX_PAGES) and any cut is reported.
FILTERED_PAGE_SIZE = 100
UNFILTERED_PAGE_SIZE = 250


def _any_of(values: tuple[str, ...]) -> str:
    return ",".join(values)


def _search(resource_type: str, criteria: str = "", page_size: int = UNFILTERED_PAGE_SIZE) -> str:
    criteria = f"&{criteria}" if criteria else ""
    return f"{resource_type}?patient={{{{context.patientId}}}}{criteria}&_count={page_size}"


CONDITIONS_KEY = "conditions"  # decides scope: when it is cut, scope itself is unknown

PATIENT_DATA_PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    CONDITIONS_KEY: _search("Condition"),
    "observations": _search("Observation", "code=" + _any_of(codes.OBSERVATION_SEARCH_CODES),
                            FILTERED_PAGE_SIZE),
    "receptorPanels": _search("Observation",
                              "component-code=" + _any_of(codes.RECEPTOR_SEARCH_CODES),
                              FILTERED_PAGE_SIZE),
    "procedures": _search("Procedure", "code=" + _any_of(codes.PROCEDURE_SEARCH_CODES),
                          FILTERED_PAGE_SIZE),
    "profiledProcedures": _search("Procedure",
                                  "_profile=" + _any_of(codes.PROCEDURE_SEARCH_PROFILES),
                                  FILTERED_PAGE_SIZE),
    "bodyStructures": _search("BodyStructure"),
    "medicationRequests": _search("MedicationRequest"),
    "medicationStatements": _search("MedicationStatement"),
}

REQUIRED_KEYS = frozenset({"patient", CONDITIONS_KEY})
