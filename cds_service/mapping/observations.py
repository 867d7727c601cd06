"""Receptor status (HER2, ER, PR) and performance status (Karnofsky, ECOG) from Observations
(fhir-input-profile.md, "Observations"): every result is kept with its effective[x] date and the
model's one rule (`cds_service/model/series.py`) picks the latest — on the record's latest date
here, on the assessment date in `facts.as_of`; entered-in-error and cancelled results are ignored
(and recorded as skipped)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from cds_service.mapping import codes
from cds_service.mapping.context import Notes, ResourceIndex, loinc_codes_read
from cds_service.mapping.read import (
    FhirDate,
    Json,
    codings,
    concept_words,
    integer,
    loinc_codes,
    obj,
    objs,
    quantity,
    reference_of,
    status_code,
    text,
    timepoint,
)
from cds_service.model.patient import PerformanceScore, Receptor, ReceptorReading, ReceptorStatus
from cds_service.model.series import latest_score, receptor_from

_STATUS = {
    codes.POSITIVE: ReceptorStatus.POSITIVE,
    codes.NEGATIVE: ReceptorStatus.NEGATIVE,
    codes.EQUIVOCAL: ReceptorStatus.EQUIVOCAL,
}
_RECEPTOR_CODES = frozenset({*codes.RECEPTOR_RESULT_CODES, *codes.RECEPTOR_PERCENT_CODES})


def usable(observation: Json, notes: Notes) -> bool:
    status = status_code(observation.get("status"))
    if status in codes.IGNORED_OBSERVATION_STATUS:
        notes.skip(observation, f"status {status}")
        return False
    return True


# --- Receptors -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReceptorResult:
    marker: str
    result: str  # codes.POSITIVE / NEGATIVE / EQUIVOCAL
    when: FhirDate | None
    source: str
    specimen: str = ""


@dataclass(frozen=True)
class Receptors:
    her2: Receptor
    er: Receptor
    pr: Receptor
    conflicts: tuple[str, ...]  # markers whose latest results disagree (named as missing)


def map_receptors(index: ResourceIndex, notes: Notes) -> Receptors:
    results: list[ReceptorResult] = []
    coded = {id(o) for o in index.observations_coded(*_RECEPTOR_CODES)}  # a receptor result
    for observation in index.observations_coded(*_RECEPTOR_CODES, with_components=True):
        if not (id(observation) in coded or _has_receptor_component(observation)):
            continue  # neither a receptor result nor a receptor panel: a tumour size, say
        found = notes.guard(observation, _receptor_result_list, observation, notes)
        results.extend(found or ())
    chosen = {m: receptor_from([_reading(r) for r in results if r.marker == m])
              for m in (codes.HER2, codes.ER, codes.PR)}
    conflicts = tuple(m for m, (_, conflict) in chosen.items() if conflict)
    return Receptors(chosen[codes.HER2][0], chosen[codes.ER][0], chosen[codes.PR][0], conflicts)


def _reading(result: ReceptorResult) -> ReceptorReading:
    """One result as the model's dated reading (`series.receptor_from` chooses the latest)."""
    return ReceptorReading(_STATUS[result.result], result.when.day if result.when else None,
                           result.specimen, result.source,
                           result.when.start if result.when else None)


def specimen_of(observation: Json) -> str:
    """What the result was measured on: Observation.specimen's display, else bodySite, else the
    Observation itself."""
    specimen = text(obj(observation.get("specimen")).get("display"))
    site = concept_words(observation.get("bodySite")).strip()
    return specimen or site or reference_of(observation)


def _receptor_result_list(observation: Json, notes: Notes) -> list[ReceptorResult]:
    """`_receptor_results`, read to the end (inside `Notes.guard`, which catches what breaks)."""
    return list(_receptor_results(observation, notes))


def _receptor_results(observation: Json, notes: Notes) -> Iterator[ReceptorResult]:
    """Results of the Observation itself, or of its components (a receptor panel)."""
    parts = [(observation, loinc_codes(observation.get("code")))]
    if not _is_receptor(parts[0][1]):
        parts = [(c, loinc_codes(c.get("code"))) for c in objs(observation.get("component"))]
        parts = [(c, k) for c, k in parts if _is_receptor(k)]
    if not parts or not _is_receptor(parts[0][1]) or not usable(observation, notes):
        return
    when = timepoint(observation, "effective")
    for element, loincs in parts:
        marker, result, reason = _read_result(element, loincs)
        if result is None:
            notes.skip(observation, f"{codes.RECEPTOR_NAMES[marker]} result not readable: {reason}")
            continue
        yield ReceptorResult(marker, result, when, reference_of(observation),
                             specimen_of(observation))


def _is_receptor(loincs: Iterable[str]) -> bool:
    return not _RECEPTOR_CODES.isdisjoint(loincs)


def _has_receptor_component(observation: Json) -> bool:
    """Whether a component is a receptor result, as `_receptor_results` reads the components
    (which it then reads again, with their codes in order, for the few that are)."""
    return any(_is_receptor(loinc_codes_read(c.get("code")))
               for c in objs(observation.get("component")))


def _read_result(element: Json, loincs: list[str]) -> tuple[str, str | None, str]:
    percent = next((codes.RECEPTOR_PERCENT_CODES[c] for c in loincs
                    if c in codes.RECEPTOR_PERCENT_CODES), None)
    marker = percent or next(codes.RECEPTOR_RESULT_CODES[c] for c in loincs
                             if c in codes.RECEPTOR_RESULT_CODES)
    her2_ihc = codes.HER2_IHC_CODE in loincs
    if percent and ("valueQuantity" in element or "valueInteger" in element):
        return (marker, *_percent_result(element))
    concept = obj(element.get("valueCodeableConcept"))
    for coding in codings(concept):
        answer = codes.RECEPTOR_ANSWERS.get((coding.system, coding.code))
        if answer:
            return marker, answer, ""
    for words in (text(concept.get("text")), *(c.display for c in codings(concept)),
                  text(element.get("valueString"))):
        answer = _text_answer(words, her2_ihc)
        if answer:
            return marker, answer, ""
    for interpretation in objs(element.get("interpretation")):
        for coding in codings(interpretation):
            answer = (codes.INTERPRETATION_ANSWERS.get(coding.code.upper())
                      or codes.RECEPTOR_ANSWERS.get((coding.system, coding.code)))
            if answer:
                return marker, answer, ""
    if "valueQuantity" in element or "valueRatio" in element:
        return marker, None, "numeric results are only read for the % stained cells codes"
    value = next((k for k in element if k.startswith("value")), None)
    return marker, None, f"no positive/negative/equivocal answer in {value or 'the value'}"


def _percent_result(element: Json) -> tuple[str | None, str]:
    if "valueInteger" in element:
        value = integer(element.get("valueInteger"))
        amount, unit = (float(value), "%") if value is not None else (None, None)
    else:
        q = quantity(element.get("valueQuantity"))
        amount, unit = (q.value, q.unit) if q else (None, None)
    if amount is None:
        return None, "no number in the % stained cells result"
    if unit not in (None, "%"):
        return None, f"unit '{unit}' is not %"
    return (codes.POSITIVE if amount >= codes.HR_POSITIVE_MIN_PERCENT else codes.NEGATIVE), ""


def _text_answer(words: str | None, her2_ihc: bool) -> str | None:
    if not words:
        return None
    norm = re.sub(r"\s+", " ", words.strip().lower())
    if her2_ihc:
        score = norm.removeprefix("score").removeprefix("ihc").strip()
        if score in codes.HER2_IHC_SCORES:
            return codes.HER2_IHC_SCORES[score]
    return codes.RECEPTOR_TEXT_ANSWERS.get(norm)


# --- Performance status --------------------------------------------------------------------------
@dataclass(frozen=True)
class _Scale:
    name: str
    loinc: str
    answers: dict[str, int]
    low: int
    high: int


KARNOFSKY = _Scale("Karnofsky", codes.KPS_CODE, codes.KPS_ANSWERS, *codes.KPS_RANGE)
ECOG = _Scale("ECOG", codes.ECOG_CODE, codes.ECOG_ANSWERS, *codes.ECOG_RANGE)


def map_performance(index: ResourceIndex, notes: Notes, scale: _Scale
                    ) -> tuple[PerformanceScore, ...]:
    """Every usable score, oldest first (`series.latest_score` picks the one that counts)."""
    scores: list[PerformanceScore] = []
    for observation in index.observations_coded(scale.loinc):
        if not usable(observation, notes):
            continue
        value = notes.guard(observation, _score, observation, scale)
        if value is None:
            notes.skip(observation, f"no {scale.name} score between {scale.low} and {scale.high}")
            continue
        when = timepoint(observation, "effective")
        scores.append(PerformanceScore(value, when.day if when else None,
                                       reference_of(observation),
                                       when.start if when else None))
    return tuple(sorted(scores, key=lambda s: sort_day_of(s.when)))


def latest_performance(scores: tuple[PerformanceScore, ...], scale: _Scale
                       ) -> PerformanceScore | None:
    """Latest score; on the same day the worse one (the model's one rule, `series.py`)."""
    return latest_score(scores, higher_is_better=scale is KARNOFSKY)


def sort_day_of(day: date | None) -> date:
    return day or date.min


def _score(observation: Json, scale: _Scale) -> int | None:
    """valueInteger (FIP), a whole valueQuantity or digit string, else a LOINC answer code in the
    value or, as the mCODE examples also carry it, in interpretation."""
    value = integer(observation.get("valueInteger"))
    if value is None and "valueQuantity" in observation:
        q = quantity(observation.get("valueQuantity"))
        value = integer(q.value) if q else None
    if value is None:
        raw = text(observation.get("valueString"))
        value = int(raw) if raw and raw.isdigit() else None
    if value is None:
        concepts = [obj(observation.get("valueCodeableConcept")),
                    *objs(observation.get("interpretation"))]
        value = next((scale.answers[c.code] for concept in concepts for c in codings(concept)
                      if c.system == codes.LOINC and c.code in scale.answers), None)
    if value is None or not scale.low <= value <= scale.high:
        return None
    return value
