"""Salvage options per situation (clinical-model §4, review §4-§6), ranked.

Ranks follow the order in which clinical-model §4 lists the options of a situation (the review
ranks none explicitly); systemic therapy comes after local options, best supportive care is first
for disseminated progression after WBRT with poor performance status and otherwise just before the
tumour board, and the tumour board is always last (it is where the decision is taken [82-84]).

Performance-status gating (documented in docs/clinical-model.md):
- poor PS (KPS <= 60 / ECOG >= 2): best supportive care is added and every aggressive local option
  (surgery, SRS, FSRT, WBRT, re-WBRT) is marked ``selected_patients_only``;
- unknown PS: the same local options are marked ``selected_patients_only`` (their indication
  depends on PS) but best supportive care is not added; performance status is named as missing.
Only progressive situations get options; every other situation gets none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from cds_service.model.anchoring import covers, scan_dates
from cds_service.model.assessment import (
    DISSEMINATED_AFTER_LOCAL,
    DISSEMINATED_AFTER_WBRT,
    LEPTOMENINGEAL,
    LOCAL_AFTER_SRS_IN_FIELD,
    LOCAL_AFTER_SRS_OUT_OF_FIELD,
    LOCAL_AFTER_SURGERY,
    LOCAL_AFTER_WBRT,
    Option,
    PerformanceStatus,
    Situation,
    SystemicRegimen,
    Warning,
)
from cds_service.model.constants import (
    DEFAULT_CONFIG,
    DOMINANT_LESION_RATIO,
    FSRT_PREFERRED_ABOVE_MM,
    SRS_MAX_DIAMETER_MM,
    ModelConfig,
)
from cds_service.model.evidence import cite, span
from cds_service.model.facts import (
    FOCAL_RT_KINDS,
    cm_text,
    focal_rt_courses,
    has_prior,
    latest_diameter,
    lesion_by_id,
)
from cds_service.model.patient import PatientRecord, TreatmentKind
from cds_service.model.regimens import fsrt_regimens, re_wbrt_regimens, srs_plan, wbrt_regimens
from cds_service.model.systemic import switch_line_advice
from cds_service.model.vocabulary import OPTION_TITLES, OptionCode, WarningCode

SURGERY, SRS, FSRT, WBRT, RE_WBRT = (
    OptionCode.SURGERY, OptionCode.SRS, OptionCode.FSRT, OptionCode.WBRT, OptionCode.RE_WBRT)
SYSTEMIC, BSC, TUMOR_BOARD = (
    OptionCode.SYSTEMIC, OptionCode.BEST_SUPPORTIVE_CARE, OptionCode.TUMOR_BOARD)
AGGRESSIVE_LOCAL = frozenset({SURGERY, SRS, FSRT, WBRT, RE_WBRT})
LIMITED_SITUATIONS = frozenset({LOCAL_AFTER_WBRT, LOCAL_AFTER_SURGERY, LOCAL_AFTER_SRS_IN_FIELD,
                                LOCAL_AFTER_SRS_OUT_OF_FIELD})


@dataclass
class _Build:
    """The facts every option builder reads, and what the builders found missing or unsafe."""

    record: PatientRecord
    situation: Situation
    performance: PerformanceStatus
    config: ModelConfig
    diameters: dict[str, Decimal | None]
    prior_rt: bool
    prior_wbrt: bool
    warnings: list[Warning] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def lesions(self) -> tuple[str, ...]:
        return self.situation.progressing_lesions

    def any_larger_than(self, limit_mm: Decimal) -> bool:
        return any(d is not None and d > limit_mm for d in self.diameters.values())

    def any_unknown(self) -> bool:
        return not self.diameters or any(d is None for d in self.diameters.values())

    def reirradiates(self, lesions: tuple[str, ...]) -> bool:
        """SRS/FSRT of `lesions` re-irradiates: WBRT was given, or a target lies — or may lie,
        when a prior SRS/FSRT names no lesion — in a prior SRS/FSRT volume. New lesions outside
        every prior volume are first-course SRS/FSRT (review §4.2 [36])."""
        if self.prior_wbrt:
            return True
        focal = focal_rt_courses(self.record)
        if not focal:
            return False
        if not lesions:
            return True  # targets not identified: the safe reading
        scans = scan_dates(self.record)
        by_id = lesion_by_id(self.record)
        return any(lid in self.situation.in_field_lesions
                   or (lid in by_id and any(covers(t, by_id[lid], scans) for t in focal))
                   or lid not in by_id for lid in lesions)


@dataclass(frozen=True)
class OptionSet:
    options: tuple[Option, ...]
    warnings: tuple[Warning, ...]
    missing: tuple[str, ...]


def _option(code: str, rationale: str, references: tuple[int, ...], **kw: Any) -> Option:
    return Option(code=code, rank=0, title=OPTION_TITLES[code], rationale=rationale,
                  references=references, **kw)


# --- one builder per option kind ---------------------------------------------------------------

def _srs(b: _Build, rationale: str, references: tuple[int, ...], *, selected: bool = False,
         reirradiation: bool | None = None,
         lesions: tuple[str, ...] | None = None) -> Option | None:
    diameters = b.diameters if lesions is None else {lid: b.diameters.get(lid) for lid in lesions}
    plan = srs_plan(diameters)
    for lesion, diameter in plan.too_large:
        b.warnings.append(Warning(
            code=WarningCode.SRS_SIZE_LIMIT,
            message=(f"Lesion {lesion} measures {cm_text(diameter)} (> "
                     f"{cm_text(SRS_MAX_DIAMETER_MM)}): single-fraction SRS is not suitable "
                     "(review Table 1); consider FSRT (3 x 7-9 Gy or 5 x 5-7 Gy) or surgery."),
            references=cite(14, 15)))
    # (no lesion identified at all: the situation already names "number and size of the
    # progressing lesions" as missing; the whole table is shown)
    if plan.unknown_size:
        b.missing.append("maximum diameter of the progressing lesion(s) "
                         + ", ".join(plan.unknown_size)
                         + ": SRS dose shown for every Table 1 size band, not per lesion")
    if not plan.regimens:
        return None  # every lesion is > 4 cm
    dose_note = (" Doses follow each lesion's maximum diameter (Table 1): <= 2.0 cm 20-24 Gy, "
                 "2.1-3.0 cm 18 Gy, 3.1-4.0 cm 15 Gy, single fraction [14].")
    return _option(SRS, rationale + dose_note, cite(14, *references), regimens=plan.regimens,
                   selected_patients_only=selected,
                   reirradiation=b.reirradiates(plan.lesions + plan.unknown_size)
                   if reirradiation is None else reirradiation,
                   lesions=plan.lesions + plan.unknown_size)


def _fsrt(b: _Build, rationale: str, references: tuple[int, ...], *, selected: bool = False,
          reirradiation: bool | None = None, lesions: tuple[str, ...] | None = None) -> Option:
    note = (" Regimens: 3 x 7-9 Gy or 5 x 5-7 Gy (review Table 1); the review's Figure 1 uses "
            "5 x 6 Gy.")
    targets = b.lesions if lesions is None else lesions
    return _option(FSRT, rationale + note, cite(15, *references), regimens=fsrt_regimens(),
                   selected_patients_only=selected,
                   reirradiation=b.reirradiates(targets) if reirradiation is None
                   else reirradiation,
                   lesions=targets)


def _surgery(b: _Build, rationale: str, references: tuple[int, ...], *,
             selected: bool = False, lesions: tuple[str, ...] | None = None) -> Option:
    return _option(SURGERY, rationale, cite(*references), selected_patients_only=selected,
                   lesions=b.lesions if lesions is None else lesions)


def _wbrt(b: _Build, rationale: str, references: tuple[int, ...]) -> Option:
    # A prior brain course whose technique could not be told (TreatmentKind.OTHER_RT, e.g. no
    # treated volume on record) may have been WBRT: a first-course WBRT is then never offered
    # plainly — after WBRT only the conservative re-WBRT applies [49].
    unknown_prior = has_prior(b.record, TreatmentKind.OTHER_RT)
    if unknown_prior:
        rationale += (" Caution: a prior brain radiotherapy course of unknown technique is on "
                      "record; if it was WBRT, only re-WBRT 10 x 2 Gy applies [49] - confirm "
                      "before prescribing.")
        references = (*references, 49)
    return _option(WBRT, rationale + " Regimens: 5 x 4 Gy or 10 x 3 Gy; longer regimens bring "
                   "no benefit [16].", cite(16, *references), regimens=wbrt_regimens(),
                   reirradiation=b.prior_rt, selected_patients_only=unknown_prior)


def _re_wbrt(b: _Build, rationale: str) -> Option:
    return _option(RE_WBRT, rationale + " Regimen: 10 x 2 Gy (20 Gy), more conservative than "
                   "the first course; survival after re-WBRT is usually poor (median 3.3 months "
                   "[49]) and late toxicity data do not exist.", cite(49),
                   regimens=re_wbrt_regimens(), selected_patients_only=True, reirradiation=True)


# --- options per situation (clinical-model §4) --------------------------------------------------

def _after_wbrt(b: _Build) -> list[Option | None]:
    prognosis = (" Factors associated with longer survival: age < 40 [30]; KPS >= 90, Score "
                 "Index for Radiosurgery >= 6, ER positivity, post-menopausal status [31]; age "
                 "< 50, KPS >= 70, extracranial control, ER and HER2 positivity [32]; HER2 "
                 "positivity and controlled extracranial disease [33]; HER2 positivity [35].")
    options: list[Option | None] = [
        _srs(b, "Limited progression after WBRT: salvage SRS is a valid option, supported by "
             "retrospective BCBM series only (median overall survival 9.8-19 months after salvage "
             "SRS [30-34]; median survival 6 months if HER2-positive vs 2 months if HER2-negative "
             "after salvage SRS, FSRT or repeat WBRT [35])." + prognosis, span(30, 35)),
        _surgery(b, "Limited progression after WBRT: salvage surgery is equally an available "
                 "option (review §4.1); the literature after WBRT is retrospective only, and its "
                 "series [30-35] report salvage radiotherapy, not surgery." + prognosis,
                 span(30, 35)),
    ]
    if b.any_larger_than(FSRT_PREFERRED_ABOVE_MM) or b.any_unknown():
        options.append(_fsrt(b, "FSRT is the usual choice for lesions larger than 2 cm, with "
                             "efficacy similar to SRS [15]; it was used after WBRT in the series "
                             "of Lai et al. [35].", cite(35)))
    return options


def _after_surgery(b: _Build) -> list[Option | None]:
    text = ("Limited progression after surgery without postoperative radiotherapy (cavity or "
            "surroundings of the tumour bed): salvage {m} of the cavity / tumour bed is the "
            "preferred method in patients with good performance status, when feasible; WBRT is "
            "reserved for disseminated progression (review §4.2).")
    return [
        _srs(b, text.format(m="SRS"), (), reirradiation=False),
        _fsrt(b, text.format(m="FSRT") + " FSRT suits larger cavities; SRS and FSRT have "
              "similar efficacy [15].", (), reirradiation=False),
    ]


def _out_of_field(b: _Build) -> list[Option | None]:
    return [
        _srs(b, "Progression outside the previously irradiated SRS/FSRT volumes: repeat SRS of "
             "the new or untreated lesions is a considerable option [36].", cite(36),
             reirradiation=b.prior_wbrt),
        _surgery(b, "Progression outside the previously irradiated volumes: surgery is a "
                 "considerable option [36].", cite(36)),
        _fsrt(b, "Progression outside the previously irradiated volumes: repeated SRS/FSRT is a "
              "considerable option [36]; FSRT is usually applied for larger lesions (review "
              "Table 1: tumours larger than 2 cm).", cite(36), reirradiation=b.prior_wbrt),
    ]


def _in_field(b: _Build) -> list[Option | None]:
    """Review §4.2: surgery is the mainstay for progression within a previously irradiated volume
    or when symptomatic [37-39]; repeat SRS/FSRT carries a significant PRN risk, FSRT preferred
    [15, 40-42]. New or untreated lesions outside the prior volumes get SRS by Table 1, not
    re-irradiation (§4.2, [36]). With stable imaging (progression by clinical deterioration
    alone) the work-up for radionecrosis/oedema comes first (review §3) and resection of a lesion
    that has not grown does not lead."""
    inside = b.situation.in_field_lesions or b.lesions
    where = ("within a previously irradiated volume" if not b.situation.position_unknown else
             "after SRS/FSRT whose position relative to the prior volume is not established "
             "(handled as possibly within it)")
    condition = "If the work-up shows tumour progression: " if b.situation.imaging_stable else ""
    symptomatic = " The progression is symptomatic, which favours surgery." \
        if b.situation.symptomatic else ""
    surgery = _surgery(
        b, condition + f"Local progression {where}: salvage surgery is the mainstay, also when the "
        "progression is symptomatic (review §4.2; series of resection after SRS, all primaries "
        "[37-39]); the specimen also tells tumour from post-radiation necrosis (in 4 of 32 "
        "patients resected after Gamma Knife SRS the specimen showed only PRN [38]). "
        "Postoperative radiotherapy of the cavity may be justified [39]." + symptomatic,
        span(37, 39), lesions=inside, selected=b.situation.imaging_stable)
    fsrt = _fsrt(
        b, condition + "Repeat stereotactic irradiation of the previously irradiated volume is "
        "possible but carries a significant risk of post-radiation necrosis (crude median "
        "14.3 %, 2-36 % [42]); FSRT is preferred over single-fraction SRS when that risk is "
        "significant [15]. The review's Figure 1B re-treats one lesion with FSRT 5 x 6 Gy after "
        "SRS 1 x 24 Gy. Register the images and assess the composite dose (review §4.2).",
        cite(40, 42), reirradiation=True, lesions=inside)
    srs = _srs(
        b, condition + "Repeat SRS of the previously irradiated lesion (re-SRS): 1-year local "
        "control 79 % per lesion but PRN in 30 % of patients [40]; PRN in 18.8 % of lesions after "
        "re-SRS/SRT [41]. Register the images and assess the composite dose.",
        cite(40, 41, 42), reirradiation=True, lesions=inside)
    local = [fsrt, srs, surgery] if b.situation.imaging_stable else [surgery, fsrt, srs]
    outside = b.situation.out_of_field_lesions
    if outside:
        text = (f"Lesion(s) {', '.join(outside)} outside the prior SRS/FSRT volumes (new or "
                "untreated): repeated SRS/FSRT is a considerable option [36]; this is not "
                "re-irradiation of an SRS/FSRT volume.")
        local.append(_srs(b, text, cite(36), reirradiation=b.prior_wbrt, lesions=outside))
        if any((d := b.diameters.get(lid)) is None or d > FSRT_PREFERRED_ABOVE_MM
               for lid in outside):
            local.append(_fsrt(b, text + " FSRT is the usual choice above 2 cm (Table 1).",
                               cite(36), reirradiation=b.prior_wbrt, lesions=outside))
    return local


def _fsrt_first(b: _Build) -> bool:
    """Table 1: FSRT for "tumors larger than 2 cm"; it ranks above SRS only then (or when a
    size is unknown: the fractionated course is the cautious choice, as in Figure 1A)."""
    return b.any_larger_than(FSRT_PREFERRED_ABOVE_MM) or b.any_unknown()


def _focal_for_many(b: _Build, after_wbrt: bool, selected: bool = True) -> list[Option | None]:
    base = ("Focal stereotactic treatment of multiple progressive lesions, simultaneous or "
            "sequential, without loss of local efficacy [11, 43, 44] — for selected patients "
            "with good performance status and a limited total volume of progressing tumours "
            "[45, 46]; more than four lesions is not by itself an indication for WBRT.")
    if after_wbrt:
        base += (" After WBRT the review's Figure 1A treats five progressive lesions with FSRT "
                 "5 x 6 Gy.")
    refs = cite(11, 43, 44, 45, 46)
    fsrt = _fsrt(b, base + " FSRT is the usual choice for lesions larger than 2 cm (Table 1) and "
                 "is preferred when the risk of PRN is significant [15].", refs, selected=selected)
    srs = _srs(b, base, refs, selected=selected)
    return [fsrt, srs] if _fsrt_first(b) else [srs, fsrt]


def dominant_lesion(b: _Build) -> str | None:
    """The largest progressing lesion, when it is at least DOMINANT_LESION_RATIO times the next
    largest (a choice: the review does not define "dominant"); None when sizes are unknown."""
    sized = sorted(((d, lid) for lid, d in b.diameters.items() if d is not None), reverse=True)
    if not sized or len(sized) < len(b.diameters):
        return None
    if len(sized) == 1 or sized[0][0] >= DOMINANT_LESION_RATIO * sized[1][0]:
        return sized[0][1]
    return None


def _dominant_lesion_surgery(b: _Build) -> Option:
    dominant = dominant_lesion(b)
    size = b.diameters.get(dominant) if dominant else None  # known: a dominant lesion is sized
    which = (f"The dominant lesion {dominant} ({cm_text(size)}), if it causes"
             if dominant and size is not None else "For a dominant lesion causing")
    return _surgery(b, f"{which} significant oedema, bleeding or neurological symptoms: "
                    "resection combined with SRS/FSRT or WBRT for the remaining lesions (review "
                    "§4.3, in multiple BCBM in general [47, 48]); data on efficacy and "
                    "tolerability are scarce.", cite(47, 48), selected=True,
                    lesions=(dominant,) if dominant else ())


def _surgery_leads(b: _Build) -> bool:
    """Resection of a dominant lesion comes first only when the patient is symptomatic and one
    lesion dominates (review §4.3: "especially if there is a dominant lesion that causes
    significant edema, bleeding, or neurological symptoms")."""
    return b.situation.symptomatic and dominant_lesion(b) is not None


def _disseminated_after_local(b: _Build) -> list[Option | None]:
    surgery = _dominant_lesion_surgery(b)
    leads = _surgery_leads(b)
    return [
        *([surgery] if leads else []),
        _wbrt(b, "Disseminated progression after surgery/SRS/FSRT: WBRT remains the method of "
              "choice for numerous progressive BCBM, especially HER2-positive and "
              "hormone-receptor-positive disease (review §4.3); its benefit is disputable.", ()),
        *_focal_for_many(b, after_wbrt=False),
        *([] if leads else [surgery]),
    ]


def _disseminated_after_wbrt(b: _Build) -> list[Option | None]:
    """Review §4.3 and Figure 1A: re-WBRT for carefully selected patients [49]; focal treatment
    of countable lesions — with good performance status it is not ranked below re-WBRT, and then
    it is not "selected patients only" (the patient meets the selection: good PS, countable
    lesions); surgery for a dominant lesion [47, 48], first when it is symptomatic."""
    re_wbrt = _re_wbrt(b, "Disseminated progression after WBRT: repeat WBRT could be offered to "
                       "carefully selected patients (review §4.3) [49].")
    surgery = _dominant_lesion_surgery(b)
    countable = 0 < len(b.lesions) <= b.config.countable_lesion_max
    good_ps = b.performance.good is True
    focal = _focal_for_many(b, after_wbrt=True, selected=not good_ps) if countable else []
    ordered = [*focal, re_wbrt] if countable and good_ps else [re_wbrt, *focal]
    if _surgery_leads(b):
        return [surgery, *ordered]
    return [*ordered, surgery]


def _leptomeningeal(b: _Build) -> list[Option | None]:
    whole_brain: Option
    if b.prior_wbrt:
        whole_brain = _re_wbrt(b, "Leptomeningeal disease after prior WBRT: WBRT is the method "
                               "of choice for leptomeningeal disease but has been given; a "
                               "repeat course is for carefully selected patients only [49, 51].")
        whole_brain = replace(whole_brain, references=cite(49, 51, 52))
    else:
        whole_brain = _wbrt(b, "Leptomeningeal disease: WBRT is the method of choice, but its "
                            "real benefit is disputable and the prognosis very poor; patients "
                            "in good performance status and without a solitary BCBM gained the "
                            "most [51]; survival after WBRT was poor [51, 52].", cite(51, 52))
    focal = ("SRS/FSRT only for limited, localised leptomeningeal disease in good performance "
             "status in potential candidates for further systemic therapy (16 patients, 5 with "
             "BCBM: median overall survival 10 months [53]); leptomeningeal disease is mostly "
             "diffuse.")
    if b.performance.good is False:
        # review §4.4: SRT/FSRT "to carefully selected patients with limited localized
        # leptomeningeal metastases who are in good performance status" - not with poor PS
        return [whole_brain]
    return [
        whole_brain,
        _srs(b, focal, cite(53), selected=True),
        _fsrt(b, focal, cite(53), selected=True),
    ]


BUILDERS: dict[str, Callable[[_Build], list[Option | None]]] = {  # keyed by Situation.code
    LOCAL_AFTER_WBRT: _after_wbrt,
    LOCAL_AFTER_SURGERY: _after_surgery,
    LOCAL_AFTER_SRS_OUT_OF_FIELD: _out_of_field,
    LOCAL_AFTER_SRS_IN_FIELD: _in_field,
    DISSEMINATED_AFTER_LOCAL: _disseminated_after_local,
    DISSEMINATED_AFTER_WBRT: _disseminated_after_wbrt,
    LEPTOMENINGEAL: _leptomeningeal,
}


def _systemic(b: _Build, regimens: tuple[SystemicRegimen, ...], local_options: bool) -> Option:
    limited = b.situation.code in LIMITED_SITUATIONS
    text = ("Systemic therapy with intracranial activity, chosen by subtype (see the systemic "
            "regimens) [59]. ")
    if limited:
        text += ("In limited progression it is an alternative when local therapy is not feasible "
                 "(review §5-§6), for selected patients, especially HER2-positive.")
    else:
        text += "It may be combined with local treatment or replace it when local therapy is " \
                "not feasible (review §6)."
    advice = switch_line_advice(b.record, b.situation, local_options)
    if advice:
        text += " " + advice
    refs = cite(59, *(n for r in regimens for n in r.references))
    return _option(SYSTEMIC, text, refs, selected_patients_only=limited, note=advice)


def _best_supportive_care(b: _Build) -> Option:
    return _option(BSC, "Poor performance status: best supportive care (symptom control, "
                   "steroids as needed) is a legitimate choice. In the review's salvage series "
                   "better performance status went with longer survival after salvage SRS (KPS "
                   ">= 90 [31], KPS >= 70 [32]) and was the most important prognostic factor "
                   "in reirradiated patients [34].", cite(31, 32, 34))


def _tumor_board() -> Option:
    return _option(TUMOR_BOARD, "The choice between these options should be made at a "
                   "multidisciplinary tumour board including at least a neurosurgeon, a "
                   "radiation oncologist and a medical oncologist [82-84].", span(82, 84))


def _gate(option: Option, performance: PerformanceStatus, b: _Build) -> Option:
    if option.code not in AGGRESSIVE_LOCAL:
        return option
    if performance.good is False:
        return replace(option, selected_patients_only=True, rationale=option.rationale
                       + " Performance status is poor: for selected patients only.")
    if performance.good is None:
        return replace(option, selected_patients_only=True, rationale=option.rationale
                       + " Performance status is not on record: its indication depends on it.")
    return option


def _ranked(option: Option, rank: int) -> Option:
    """`replace(option, rank=rank)` without `dataclasses.replace`'s walk over the field
    definitions, for every option of every call (an Option's fields are all `__init__` fields)."""
    return Option(**{**vars(option), "rank": rank})


def build_options(record: PatientRecord, situation: Situation, performance: PerformanceStatus,
                  regimens: tuple[SystemicRegimen, ...],
                  config: ModelConfig = DEFAULT_CONFIG) -> OptionSet:
    """Ranked options for a progressive `situation`; empty for every other situation."""
    builder = BUILDERS.get(situation.code)
    if builder is None:
        return OptionSet((), (), ())
    lesions = lesion_by_id(record)
    b = _Build(
        record=record, situation=situation, performance=performance, config=config,
        diameters={lid: latest_diameter(lesions[lid]) if lid in lesions else None
                   for lid in situation.progressing_lesions},
        prior_rt=has_prior(record, TreatmentKind.WBRT, *FOCAL_RT_KINDS),
        prior_wbrt=has_prior(record, TreatmentKind.WBRT),
    )
    local = [o for o in builder(b) if o is not None]
    ordered = [_gate(o, performance, b) for o in local]
    ordered.append(_systemic(b, regimens, local_options=bool(local)))
    if performance.good is False:
        bsc = _best_supportive_care(b)
        if situation.code == DISSEMINATED_AFTER_WBRT:
            ordered.insert(0, bsc)
        else:
            ordered.append(bsc)
    ordered.append(_tumor_board())
    ranked = tuple(_ranked(o, i) for i, o in enumerate(ordered, start=1))
    return OptionSet(ranked, tuple(b.warnings), tuple(dict.fromkeys(b.missing)))
