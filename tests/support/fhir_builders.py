"""Builders of FHIR R4 resources in the mCODE STU4 / CodeX RT STU2 shapes the service reads.

Tests (mapping tables, clinical vignettes, synthetic patients, hook calls) build their patients
with these functions so that every vignette goes through the real mapping. Each builder returns a
plain dict (the JSON an EHR would send); none of them guesses a value the caller did not give.
Codes follow shared/spec/fhir-input-profile.md.
"""

from __future__ import annotations

import copy
from typing import Any

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
MCODE = "http://hl7.org/fhir/us/mcode/StructureDefinition/"
CODEXRT = "http://hl7.org/fhir/us/codex-radiation-therapy/StructureDefinition/"
LESION_ID_SYSTEM = "urn:example:brain-lesion"
VOLUME_ID_SYSTEM = "urn:example:rt-volume"

Resource = dict[str, Any]


def ref(resource: Resource) -> dict[str, str]:
    return {"reference": f"{resource['resourceType']}/{resource['id']}"}


def cc(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding: dict[str, str] = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def patient(pid: str, birth_date: str | None = "1970-05-01", gender: str = "female",
            family: str = "Testpatient", given: str = "Anna") -> Resource:
    res: Resource = {
        "resourceType": "Patient",
        "id": pid,
        "meta": {"profile": [MCODE + "mcode-cancer-patient"]},
        "name": [{"family": family, "given": [given]}],
        "gender": gender,
    }
    if birth_date:
        res["birthDate"] = birth_date
    return res


def condition(cid: str, pid: str, system: str, code: str, display: str | None = None, *,
              onset: str | None = None, clinical_status: str = "active",
              verification: str | None = "confirmed", profile: str | None = None,
              related: Resource | None = None) -> Resource:
    res: Resource = {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": cc(CONDITION_CLINICAL, clinical_status),
        "category": [cc("http://terminology.hl7.org/CodeSystem/condition-category",
                        "problem-list-item")],
        "code": cc(system, code, display),
        "subject": {"reference": f"Patient/{pid}"},
    }
    if verification:
        res["verificationStatus"] = cc(CONDITION_VERIFICATION, verification)
    if profile:
        res["meta"] = {"profile": [MCODE + profile]}
    if onset:
        res["onsetDateTime"] = onset
    if related is not None:
        res["extension"] = [{"url": "http://hl7.org/fhir/StructureDefinition/condition-related",
                             "valueReference": ref(related)}]
    return res


def breast_cancer(pid: str, cid: str = "breast-cancer", onset: str = "2019-03-01",
                  code: str = "254837009", system: str = SNOMED, **kw: Any) -> Resource:
    return condition(cid, pid, system, code, "Malignant neoplasm of breast", onset=onset,
                     profile="mcode-primary-cancer-condition", **kw)


def lung_cancer(pid: str, cid: str = "lung-cancer", onset: str = "2019-03-01") -> Resource:
    return condition(cid, pid, SNOMED, "254637007", "Non-small cell lung cancer", onset=onset,
                     profile="mcode-primary-cancer-condition")


def brain_metastases(pid: str, cid: str = "brain-mets", onset: str = "2022-01-10",
                     code: str = "94225005", system: str = SNOMED,
                     primary: Resource | None = None, **kw: Any) -> Resource:
    return condition(cid, pid, system, code, "Secondary malignant neoplasm of brain",
                     onset=onset, profile="mcode-secondary-cancer-condition", related=primary, **kw)


def leptomeningeal(pid: str, cid: str = "lmd", onset: str = "2024-02-01",
                   code: str = "C79.32") -> Resource:
    return condition(cid, pid, ICD10CM, code, "Secondary malignant neoplasm of cerebral meninges",
                     onset=onset, profile="mcode-secondary-cancer-condition")


def extracranial_metastasis(pid: str, cid: str = "bone-mets", code: str = "94222008",
                            system: str = SNOMED, onset: str = "2021-06-01", **kw: Any) -> Resource:
    return condition(cid, pid, system, code, "Secondary malignant neoplasm of bone", onset=onset,
                     profile="mcode-secondary-cancer-condition", **kw)


def symptom(pid: str, cid: str, code: str = "91175000", display: str = "Seizure",
            onset: str = "2024-01-20") -> Resource:
    return condition(cid, pid, SNOMED, code, display, onset=onset)


def observation(oid: str, pid: str, code_system: str, code: str, effective: str,
                **values: Any) -> Resource:
    res: Resource = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": cc(code_system, code),
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": effective,
    }
    res.update(values)
    return res


RECEPTOR_CODES = {"her2": "48676-1", "er": "85337-4", "pr": "85339-0"}
RESULT_ANSWERS = {
    "positive": ("LA6576-8", "Positive"),
    "negative": ("LA6577-6", "Negative"),
    "equivocal": ("LA11885-3", "Equivocal"),
}


def receptor(pid: str, marker: str, result: str, effective: str = "2019-03-15",
             oid: str | None = None, code: str | None = None) -> Resource:
    """HER2/ER/PR tumour marker test with a LOINC answer (positive/negative/equivocal)."""
    answer, display = RESULT_ANSWERS[result]
    res = observation(oid or f"{marker}-{result}-{effective}", pid, LOINC,
                      code or RECEPTOR_CODES[marker], effective,
                      valueCodeableConcept=cc(LOINC, answer, display))
    res["meta"] = {"profile": [MCODE + "mcode-tumor-marker-test"]}
    res["category"] = [cc("http://terminology.hl7.org/CodeSystem/observation-category",
                          "laboratory")]
    return res


def receptors(pid: str, her2: str, er: str, pr: str, effective: str = "2019-03-15") -> list[Resource]:
    return [receptor(pid, "her2", her2, effective), receptor(pid, "er", er, effective),
            receptor(pid, "pr", pr, effective)]


def karnofsky(pid: str, value: int, effective: str = "2024-03-01", oid: str | None = None) -> Resource:
    res = observation(oid or f"kps-{effective}", pid, LOINC, "89243-0", effective,
                      valueInteger=value)
    res["meta"] = {"profile": [MCODE + "mcode-karnofsky-performance-status"]}
    return res


def ecog(pid: str, value: int, effective: str = "2024-03-01", oid: str | None = None) -> Resource:
    res = observation(oid or f"ecog-{effective}", pid, LOINC, "89247-1", effective,
                      valueInteger=value)
    res["meta"] = {"profile": [MCODE + "mcode-ecog-performance-status"]}
    return res


def tumor(pid: str, lesion: str, location_code: str = "12738006",
          location_display: str = "Brain structure", bid: str | None = None) -> Resource:
    """mCODE Tumor: one brain lesion, identified across scans by `lesion`."""
    return {
        "resourceType": "BodyStructure",
        "id": bid or f"tumor-{lesion}",
        "meta": {"profile": [MCODE + "mcode-tumor"]},
        "identifier": [{"use": "usual", "system": LESION_ID_SYSTEM, "value": lesion}],
        "location": cc(SNOMED, location_code, location_display),
        "patient": {"reference": f"Patient/{pid}"},
    }


def tumor_size(pid: str, tumor_res: Resource, effective: str, value: float, unit: str = "mm",
               oid: str | None = None) -> Resource:
    """mCODE tumour size: longest dimension (33728-7) of one lesion on one scan."""
    res = observation(oid or f"size-{tumor_res['id']}-{effective}", pid, LOINC, "21889-1",
                      effective)
    res["meta"] = {"profile": [MCODE + "mcode-tumor-size"]}
    res["focus"] = [ref(tumor_res)]
    res["method"] = cc(SNOMED, "113091000", "Magnetic resonance imaging")
    res["component"] = [{
        "code": cc(LOINC, "33728-7", "Size.maximum dimension in Tumor"),
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }]
    return res


def rt_volume(pid: str, vid: str, whole_brain: bool, lesions: tuple[str, ...] = ()) -> Resource:
    """mCODE RadiotherapyVolume in the brain; focal volumes share identifiers with their lesions."""
    qualifier = ("255503000", "Entire") if whole_brain else ("255609007", "Partial")
    identifiers = [{"use": "usual", "system": VOLUME_ID_SYSTEM, "value": vid}]
    identifiers += [{"system": LESION_ID_SYSTEM, "value": lesion} for lesion in lesions]
    return {
        "resourceType": "BodyStructure",
        "id": vid,
        "meta": {"profile": [MCODE + "mcode-radiotherapy-volume"]},
        "identifier": identifiers,
        "morphology": cc(SNOMED, "228793007", "Planning target volume"),
        "location": cc(SNOMED, "12738006", "Brain structure"),
        "locationQualifier": [cc(SNOMED, qualifier[0], qualifier[1])],
        "patient": {"reference": f"Patient/{pid}"},
    }


def rt_course(pid: str, pid_course: str, volume: Resource, total_cgy: float, fractions: int,
              start: str, end: str | None = None, *, reirradiation: bool | None = None,
              reason: Resource | None = None, status: str = "completed") -> Resource:
    """CodeX/mCODE radiotherapy course summary delivering `total_cgy` in `fractions` to `volume`."""
    extensions: list[dict[str, Any]] = [
        {"url": MCODE + "mcode-procedure-intent",
         "valueCodeableConcept": cc(SNOMED, "363676003", "Palliative - procedure intent")},
        {"url": MCODE + "mcode-radiotherapy-dose-delivered-to-volume",
         "extension": [
             {"url": "volume", "valueReference": ref(volume)},
             {"url": "totalDoseDelivered",
              "valueQuantity": {"value": total_cgy, "unit": "cGy", "system": UCUM, "code": "cGy"}},
             {"url": "fractionsDelivered", "valueUnsignedInt": fractions},
         ]},
    ]
    if reirradiation is not None:
        extensions.append({"url": CODEXRT + "codexrt-radiotherapy-course-involves-reirradiation",
                           "valueBoolean": reirradiation})
    res: Resource = {
        "resourceType": "Procedure",
        "id": pid_course,
        "meta": {"profile": [CODEXRT + "codexrt-radiotherapy-course-summary"]},
        "extension": extensions,
        "status": status,
        "category": cc(SNOMED, "1287742003", "Radiotherapy"),
        "code": cc(SNOMED, "1217123003", "Radiotherapy course of treatment"),
        "subject": {"reference": f"Patient/{pid}"},
        "performedPeriod": {"start": start, "end": end or start},
    }
    if reason is not None:
        res["reasonReference"] = [ref(reason)]
    return res


def surgery(pid: str, sid: str, performed: str, code: str = "447115003",
            display: str = "Total excision of lesion of brain", reason: Resource | None = None,
            focus_lesions: tuple[Resource, ...] = ()) -> Resource:
    res: Resource = {
        "resourceType": "Procedure",
        "id": sid,
        "meta": {"profile": [MCODE + "mcode-cancer-related-surgical-procedure"]},
        "status": "completed",
        "code": cc(SNOMED, code, display),
        "subject": {"reference": f"Patient/{pid}"},
        "performedDateTime": performed,
        "bodySite": [cc(SNOMED, "12738006", "Brain structure")],
    }
    if reason is not None:
        res["reasonReference"] = [ref(reason)]
    if focus_lesions:
        res["extension"] = [{"url": "http://hl7.org/fhir/StructureDefinition/procedure-targetBodyStructure",
                             "valueReference": ref(t)} for t in focus_lesions]
    return res


TREND_CODES = {
    "worsened": ("271299001", "Patient's condition worsened"),
    "stable": ("359746009", "Patient's condition stable"),
    "improved": ("268910001", "Patient's condition improved"),
    "undetermined": ("709137006", "Patient condition undetermined"),
}
QUALIFIER_CODES = {"local": ("255470001", "Local"), "distant": ("261007001", "Distant")}


def disease_status(pid: str, oid: str, effective: str, trend: str, *,
                   focus: tuple[Resource, ...] = (), qualifier: str | None = None,
                   pathology: bool = False, codex_volumes: tuple[Resource, ...] = (),
                   qualifier_url: str = "codexrt-radiotherapy-disease-progression-qualifier"
                   ) -> Resource:
    """A disease status; `codex_volumes` names treated volumes the CodeX way (RadiotherapyDisease-
    Status: codexrt-radiotherapy-volume-extension, as in the guide's cancer-disease-status-22B,
    whose qualifier extension is codexrt-radiotherapy-progression-qualifier)."""
    code, display = TREND_CODES[trend]
    value = cc(SNOMED, code, display)
    if qualifier:
        qcode, qdisplay = QUALIFIER_CODES[qualifier]
        value["extension"] = [{
            "url": CODEXRT + qualifier_url,
            "valueCodeableConcept": cc(SNOMED, qcode, qdisplay)}]
    res = observation(oid, pid, LOINC, "97509-4", effective, valueCodeableConcept=value)
    res["meta"] = {"profile": [MCODE + "mcode-cancer-disease-status"]}
    if focus:
        res["focus"] = [ref(f) for f in focus]
    evidence = ("252416005", "Histopathology test") if pathology else ("363679005", "Imaging")
    res["extension"] = [{"url": MCODE + "mcode-cancer-disease-status-evidence-type",
                         "valueCodeableConcept": cc(SNOMED, evidence[0], evidence[1])}]
    res["extension"] += [{"url": CODEXRT + "codexrt-radiotherapy-volume-extension",
                          "valueReference": ref(v)} for v in codex_volumes]
    return res


DRUGS = {
    # name: (RxNorm ingredient code, display)
    "trastuzumab": ("224905", "trastuzumab"),
    "tucatinib": ("2361285", "tucatinib"),
    "capecitabine": ("194000", "capecitabine"),
    "letrozole": ("72965", "letrozole"),
    "anastrozole": ("84857", "anastrozole"),
    "tamoxifen": ("10324", "tamoxifen"),
    "fulvestrant": ("282357", "fulvestrant"),
    "palbociclib": ("1601374", "palbociclib"),
    "abemaciclib": ("1946825", "abemaciclib"),
    "dexamethasone": ("3264", "dexamethasone"),
    "paclitaxel": ("56946", "paclitaxel"),
    "pembrolizumab": ("1547545", "pembrolizumab"),
}


def medication_request(pid: str, mid: str, drug: str, authored: str = "2023-06-01",
                       status: str = "active", intent: str = "order",
                       dose_mg: float | None = None) -> Resource:
    code, display = DRUGS[drug]
    res: Resource = {
        "resourceType": "MedicationRequest",
        "id": mid,
        "status": status,
        "intent": intent,
        "medicationCodeableConcept": cc(RXNORM, code, display),
        "subject": {"reference": f"Patient/{pid}"},
        "authoredOn": authored,
    }
    if dose_mg is not None:
        res["dosageInstruction"] = [{"doseAndRate": [{"doseQuantity": {
            "value": dose_mg, "unit": "mg", "system": UCUM, "code": "mg"}}]}]
    return res


def rt_prescription(pid: str, sid: str, volume: Resource, total_cgy: float, fractions: int, *,
                    reirradiation: bool | None = None, status: str = "draft") -> Resource:
    """CodeX radiotherapy course prescription (a draft order in order-select / order-sign)."""
    extensions: list[dict[str, Any]] = [
        {"url": MCODE + "mcode-procedure-intent",
         "valueCodeableConcept": cc(SNOMED, "363676003", "Palliative - procedure intent")},
        {"url": CODEXRT + "codexrt-radiotherapy-dose-prescribed-to-volume",
         "extension": [
             {"url": "volume", "valueReference": ref(volume)},
             {"url": "totalDose",
              "valueQuantity": {"value": total_cgy, "unit": "cGy", "system": UCUM, "code": "cGy"}},
             {"url": "fractions", "valuePositiveInt": fractions},
         ]},
    ]
    if reirradiation is not None:
        extensions.append({"url": CODEXRT + "codexrt-radiotherapy-course-involves-reirradiation",
                           "valueBoolean": reirradiation})
    return {
        "resourceType": "ServiceRequest",
        "id": sid,
        "meta": {"profile": [CODEXRT + "codexrt-radiotherapy-course-prescription"]},
        "extension": extensions,
        "status": status,
        "intent": "original-order",
        "category": [cc(SNOMED, "1287742003", "Radiotherapy")],
        "code": cc(SNOMED, "1217123003", "Radiotherapy course of treatment"),
        "subject": {"reference": f"Patient/{pid}"},
    }


def collection(resources: list[Resource]) -> Resource:
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"fullUrl": f"urn:uuid:{r['resourceType']}-{r['id']}",
                       "resource": copy.deepcopy(r)} for r in resources]}


def transaction(resources: list[Resource]) -> Resource:
    """A transaction Bundle that PUTs each resource at its own id (loadable into a FHIR server)."""
    return {"resourceType": "Bundle", "type": "transaction",
            "entry": [{"fullUrl": f"{r['resourceType']}/{r['id']}", "resource": copy.deepcopy(r),
                       "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
                      for r in resources]}


def draft_orders(resources: list[Resource]) -> Resource:
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"resource": copy.deepcopy(r)} for r in resources]}
