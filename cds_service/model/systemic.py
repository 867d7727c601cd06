"""Systemic regimens by subtype (review §5; clinical-model §5b).

Gates (each a small predicate on known receptor results, never on a guess):
- "any subtype" regimens (temozolomide, temozolomide-capecitabine, CMF, bevacizumab) whenever
  systemic therapy is an option;
- HER2-directed regimens only when HER2 is positive (never for HER2-negative, unknown or
  equivocal — the missing HER2 status is named instead);
- CDK4/6 inhibitors only for HR-positive (ER or PR +) and HER2-negative disease;
- triple-negative regimens only when HER2, ER and PR are all negative;
- hormonal therapy is never offered (alone it is not a salvage option, review §5.4).
Switch-line rule (review §5): when progression occurred during systemic therapy, a regimen whose
drugs are all already being given is left out (it is the failing line); the advice to switch is
said once, on the systemic option, and is conditional when local options exist.

Order (``EVIDENCE_RANKING``): within a subtype, regimens are listed by the strength of the
intracranial evidence the review reports, strongest first; the subtype-specific regimens come
before the "any subtype" ones. The cards order the first regimen of this list whose drugs all have
a confirmed RxNorm code (cds_service/mapping/rxnorm.py) and name the better-ranked ones they could
not order. Each rank's reason quotes the review (docs/clinical-model.md §5b).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cds_service.model.assessment import Situation, SystemicRegimen
from cds_service.model.evidence import cite
from cds_service.model.patient import PatientRecord, TherapyClass
from cds_service.model.receptors import her2_negative, her2_positive, hr_negative, hr_positive


@dataclass(frozen=True)
class RegimenRule:
    code: str
    title: str
    references: tuple[int, ...]
    drugs: tuple[str, ...]  # generic names in the order the regimen names them; empty = a class
    # of drugs, never "already given"
    applies: Callable[[PatientRecord], bool]
    investigational: bool = False
    note: str | None = None


def _any(_: PatientRecord) -> bool:
    return True


def _triple_negative(record: PatientRecord) -> bool:
    return her2_negative(record) and hr_negative(record)


def _hr_positive_her2_negative(record: PatientRecord) -> bool:
    return hr_positive(record) and her2_negative(record)


def _d(*names: str) -> tuple[str, ...]:
    return names


REGIMENS: tuple[RegimenRule, ...] = (
    # HER2-positive (review §5.3)
    RegimenRule("tucatinib-trastuzumab-capecitabine", "Tucatinib + trastuzumab + capecitabine",
                cite(70), _d("tucatinib", "trastuzumab", "capecitabine"), her2_positive),
    RegimenRule("trastuzumab-deruxtecan", "Trastuzumab deruxtecan (T-DXd)", cite(75),
                _d("trastuzumab deruxtecan"), her2_positive),
    RegimenRule("neratinib-capecitabine", "Neratinib + capecitabine", cite(73),
                _d("neratinib", "capecitabine"), her2_positive),
    RegimenRule("lapatinib-capecitabine", "Lapatinib + capecitabine", cite(71, 72),
                _d("lapatinib", "capecitabine"), her2_positive),
    RegimenRule("trastuzumab-emtansine", "Trastuzumab emtansine (T-DM1)", cite(74),
                _d("trastuzumab emtansine"), her2_positive,
                note="KAMILLA treated stable BCBM"),
    RegimenRule("pertuzumab-high-dose-trastuzumab", "Pertuzumab + high-dose trastuzumab",
                cite(76), _d("pertuzumab", "trastuzumab"), her2_positive),
    # HR-positive, HER2-negative (review §5.4)
    RegimenRule("abemaciclib", "Abemaciclib (CDK4/6 inhibitor)", cite(81), _d("abemaciclib"),
                _hr_positive_her2_negative, note="early-phase intracranial activity"),
    RegimenRule("palbociclib", "Palbociclib (CDK4/6 inhibitor)", cite(80), _d("palbociclib"),
                _hr_positive_her2_negative, note="early-phase intracranial activity"),
    # Triple-negative (review §5.2)
    RegimenRule("sacituzumab-govitecan", "Sacituzumab govitecan", cite(66, 67),
                _d("sacituzumab govitecan"), _triple_negative),
    RegimenRule("conventional-chemotherapy", "Conventional chemotherapy", cite(60),
                (), _triple_negative),
    RegimenRule("iniparib-irinotecan", "Iniparib + irinotecan", cite(68),
                _d("iniparib", "irinotecan"), _triple_negative, investigational=True,
                note="investigational only"),
    # Any subtype (review §5.1)
    RegimenRule("temozolomide", "Temozolomide", cite(61, 62), _d("temozolomide"), _any),
    RegimenRule("temozolomide-capecitabine", "Temozolomide + capecitabine", cite(63),
                _d("temozolomide", "capecitabine"), _any),
    RegimenRule("cmf", "Cyclophosphamide + methotrexate + 5-fluorouracil (CMF)", cite(60),
                _d("cyclophosphamide", "methotrexate", "fluorouracil"), _any),
    RegimenRule("bevacizumab", "Bevacizumab", cite(64, 65), _d("bevacizumab"), _any,
                note="symptomatic recurrent BM not fit for local therapy; oedema, steroid sparing"),
)

# Why the regimens are listed in this order (review §5; docs/clinical-model.md §5b). Regimen code ->
# the review's words that rank it. Tested: REGIMENS follows this order exactly.
EVIDENCE_RANKING: tuple[tuple[str, str], ...] = (
    ("tucatinib-trastuzumab-capecitabine",
     "HER2CLIMB, randomized against placebo: 1-year CNS progression-free survival 35 % vs 0 % "
     "in active BCBM, HR 0.36, overall survival 20.7 vs 11.6 months [70]"),
    ("trastuzumab-deruxtecan",
     "DESTINY-Breast03 subgroup (phase III, against T-DM1): \"even better results\", "
     "intracranial response 63.8 % vs 33.3 %, 12-month PFS 72 % vs 20.9 % [75]"),
    ("neratinib-capecitabine",
     "TBCRC 022 phase II in progressive HER2+ BCBM: intracranial ORR 49 % (lapatinib-naive) "
     "and 33 % (after lapatinib) [73]"),
    ("lapatinib-capecitabine",
     "phase II: intracranial ORR 20 % with capecitabine after progression on lapatinib [71]; "
     "phase I high-dose lapatinib alternating with capecitabine [72]"),
    ("trastuzumab-emtansine",
     "KAMILLA single-arm phase IIIb: significant intracranial activity, but in stable BCBM [74]"),
    ("pertuzumab-high-dose-trastuzumab",
     "phase II, 39 patients with progressive BCBM: intracranial ORR 11 %, clinical benefit "
     "68 % [76]"),
    ("abemaciclib", "early-phase trial: moderate intracranial response in HR+ BCBM [81]"),
    ("palbociclib", "early-phase trial: moderate intracranial response in HR+ BCBM [80]"),
    ("sacituzumab-govitecan",
     "approved for metastatic TNBC [66]; early results of NCT03995706 showed intracranial "
     "activity [67]"),
    ("conventional-chemotherapy",
     "\"the options of systemic treatment of patients with triple-negative BCBM are limited to "
     "conventional chemotherapy\" (review §5.2) [60]"),
    ("iniparib-irinotecan", "investigational: intracranial ORR 12 %, median OS 8 months [68]"),
    ("temozolomide",
     "\"an interesting option for patients with progressive BCBM\": partial response in 6 of 15 "
     "BCBM with cisplatin [62]"),
    ("temozolomide-capecitabine",
     "phase I, 10 patients with progressive BCBM: 1 complete and 3 partial responses [63]"),
    ("cmf", "prospective nonrandomized: clinical benefit in 5 of 7 locally pre-treated [60]"),
    ("bevacizumab",
     "retrospective, symptomatic recurrent BM not fit for local therapy: clinical benefit 91 % "
     "[65]"),
)

# What each rule offers: constants, built once (a regimen's entry never depends on the patient).
OFFERED: dict[str, SystemicRegimen] = {
    r.code: SystemicRegimen(code=r.code, title=r.title, references=r.references,
                            investigational=r.investigational, note=r.note) for r in REGIMENS}

HER2_REGIMENS = frozenset(r.code for r in REGIMENS if r.applies is her2_positive)
CDK46_REGIMENS = frozenset(r.code for r in REGIMENS if r.applies is _hr_positive_her2_negative)
TRIPLE_NEGATIVE_REGIMENS = frozenset(r.code for r in REGIMENS if r.applies is _triple_negative)
ANY_SUBTYPE_REGIMENS = frozenset(r.code for r in REGIMENS if r.applies is _any)


def active_drugs(record: PatientRecord) -> frozenset[str]:
    return frozenset(t.drug.lower() for t in record.systemic_therapies)


def hormonal_only(classes: Sequence[TherapyClass | None]) -> bool:
    """True when there is systemic therapy and every drug of it is hormonal."""
    return bool(classes) and all(c is TherapyClass.HORMONAL for c in classes)


def systemic_regimens(record: PatientRecord, situation: Situation
                      ) -> tuple[tuple[SystemicRegimen, ...], tuple[str, ...]]:
    """Regimens for `record`, and what is missing to offer subtype-specific ones."""
    missing: list[str] = []
    if not her2_positive(record) and not her2_negative(record):
        missing.append("HER2 status: HER2-directed regimens are not offered without a positive "
                       "HER2 result")
    if her2_negative(record) and not hr_positive(record) and not hr_negative(record):
        missing.append("ER/PR status: CDK4/6 and triple-negative regimens need it")
    current = active_drugs(record)
    failing_line = progressed_on_current_line(record, situation)
    out = []
    for rule in REGIMENS:
        if not rule.applies(record):
            continue
        if failing_line and rule.drugs and frozenset(rule.drugs) <= current:
            continue
        out.append(OFFERED[rule.code])
    return tuple(out), tuple(missing)


def progressed_on_current_line(record: PatientRecord, situation: Situation) -> bool:
    """Progression occurred during the current systemic therapy — not when the only evidence is
    a new lesion under immunotherapy, which is to be confirmed first (review Table 2)."""
    return situation.on_systemic_therapy and bool(active_drugs(record)) \
        and not situation.to_confirm


def switch_line_advice(record: PatientRecord, situation: Situation, local_options: bool
                       ) -> str | None:
    """Review §5: "If the intracranial progression occurs during a systemic treatment and there
    are no options of local therapy, it is reasonable to switch systemic therapy lines." With local
    options the switch is conditional: local therapy while continuing the line, or a switch if
    local therapy is not feasible. Said once (on the systemic option), never per regimen."""
    if not progressed_on_current_line(record, situation):
        return None
    if hormonal_only([t.therapy_class for t in record.systemic_therapies]):
        return None  # hormonal therapy alone is no line to keep (review §5.4): its warning says
    during = "Progressed on " + ", ".join(sorted(active_drugs(record)))
    if local_options:
        return (f"{during}: keep the line with local therapy, or switch the systemic line if "
                "local therapy is not feasible (review §5).")
    return f"{during} and no local option is offered: switch the systemic line (review §5)."
