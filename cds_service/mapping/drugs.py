"""Which drugs a MedicationRequest / MedicationStatement is about, by RxNorm code and, as a
fallback, by name (EHRs often send a product code the table does not list, or text only).

Names are matched as whole words after lower-casing and folding punctuation to spaces
("Trastuzumab-deruxtecan 100 MG" -> "trastuzumab deruxtecan 100 mg"), longest name first, and a
matched name is removed before shorter ones are tried, so trastuzumab deruxtecan is not also read
as trastuzumab, while a combination product (pertuzumab/trastuzumab) yields both drugs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cds_service.mapping import codes
from cds_service.mapping.context import ResourceIndex
from cds_service.mapping.read import Json, codings, concept_words, obj, objs, text

_BY_CODE: dict[str, codes.Drug] = {c: d for d in codes.DRUGS for c in d.rxnorm}


def normalise(words: str) -> str:
    return " " + re.sub(r"[^a-z0-9]+", " ", words.lower()).strip() + " "


_BY_NAME: tuple[tuple[str, codes.Drug], ...] = tuple(sorted(
    ((normalise(name), drug) for drug in codes.DRUGS for name in (drug.name, *drug.aliases)),
    key=lambda item: -len(item[0])))


@dataclass(frozen=True)
class DrugHit:
    drug: codes.Drug
    rxnorm: str | None  # the RxNorm code it was matched by (None: matched by name)


@dataclass(frozen=True)
class MedicationInfo:
    hits: tuple[DrugHit, ...]
    words: str  # normalised text of the medication (dose form words, for the steroid route check)


def drugs_in_text(words: str) -> list[codes.Drug]:
    """Drugs named in `words`, in the order the text names them."""
    original = remaining = normalise(words)
    found: dict[str, tuple[int, codes.Drug]] = {}
    for phrase, drug in _BY_NAME:
        if phrase in remaining:
            remaining = remaining.replace(phrase, " ")
            found.setdefault(drug.name, (original.find(phrase), drug))
    return [drug for _, drug in sorted(found.values(), key=lambda item: item[0])]


def medication_info(resource: Json, index: ResourceIndex) -> MedicationInfo:
    """Drugs of medication[x]: the CodeableConcept, or the referenced (or contained) Medication
    with its code and ingredients."""
    concepts = [obj(resource.get("medicationCodeableConcept"))]
    if "medicationReference" in resource:  # (without one, nothing to resolve)
        medication = index.resolve(obj(resource.get("medicationReference")), resource)
        if medication is not None and medication.get("resourceType") == "Medication":
            concepts.append(obj(medication.get("code")))
            concepts += [obj(i.get("itemCodeableConcept"))
                         for i in objs(medication.get("ingredient"))]
        display = text(obj(resource.get("medicationReference")).get("display"))
        if display:
            concepts.append({"text": display})
    hits: list[DrugHit] = []
    for concept in concepts:
        for coding in codings(concept):
            drug = _BY_CODE.get(coding.code) if coding.system == codes.RXNORM else None
            if drug and all(h.drug is not drug for h in hits):
                hits.append(DrugHit(drug, coding.code))
    words = " ".join(concept_words(c) for c in concepts)
    if not hits:
        hits = [DrugHit(d, None) for d in drugs_in_text(words)]
    return MedicationInfo(tuple(hits), normalise(words))


def systemic_route(resource: Json, info: MedicationInfo) -> bool:
    """False for a topical/inhaled/nasal/eye/ear/rectal product (steroid creams do not count)."""
    if any(f" {w} " in info.words for w in codes.NON_SYSTEMIC_FORM_WORDS):
        return False
    for dosage in dosages(resource):
        for coding in codings(dosage.get("route")):
            if coding.system == codes.SNOMED and coding.code in codes.NON_SYSTEMIC_ROUTES:
                return False
    return True


def dosages(resource: Json) -> list[Json]:
    return objs(resource.get("dosageInstruction")) or objs(resource.get("dosage"))
