"""Every clinical number of the salvage model, named, with its source.

Sources: "review" = Spalek & Mandat, Cancers 2022;14:1096 (bracketed numbers are its references);
"CM §n" = the clinical-model spec, as kept in docs/clinical-model.md; "choice" = a decision the
review leaves open, documented in docs/clinical-model.md. No rule module holds a clinical literal:
it reads these names, or the configurable ones through `ModelConfig` (one frozen value passed to
every rule).

Lengths are millimetres, doses gray (Gy) unless the name says cGy.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# --- Scope and situations (CM §3, review §4.3) -------------------------------------------------
LIMITED_LESION_MAX = 4  # CM §3: more than 4 progressing lesions = disseminated (review §4.3)
COUNTABLE_LESION_MAX = 10  # CM §4: focal SRS/FSRT after WBRT only for countable lesions (choice: 10)
# choice: "a dominant lesion" (review §4.3 [47, 48], undefined there) is the largest progressing
# lesion when its diameter is at least this many times the next largest one's
DOMINANT_LESION_RATIO = Decimal("1.5")
LESION_PROGRESSION_MIN_MM = Decimal("5")  # choice: one lesion "progresses" when it grows >= 5 mm over
# its own nadir after the last local therapy (the RANO-BM per-lesion 5 mm rule, Lin 2015 [17])

# --- Performance status (CM §4; review §4.1 [32]: KPS >= 70) ----------------------------------
GOOD_PS_KPS_MIN = 70  # KPS >= 70 good, <= 60 poor
GOOD_PS_ECOG_MAX = 1  # ECOG 0-1 good, >= 2 poor

# --- SRS dose by maximum lesion diameter (review Table 1 [14]) ----------------------------------
# (upper bound of the band in mm, inclusive; doses in Gy, single fraction). A diameter in a gap of
# the table (2.0-2.1 cm, 3.0-3.1 cm) falls in the next, lower-dose band (choice: the safer dose).
SRS_DOSE_TABLE: tuple[tuple[Decimal, tuple[float, ...]], ...] = (
    (Decimal("20"), (20.0, 24.0)),  # max diameter <= 2.0 cm: 20-24 Gy x 1
    (Decimal("30"), (18.0,)),  # 2.1-3.0 cm: 18 Gy x 1
    (Decimal("40"), (15.0,)),  # 3.1-4.0 cm: 15 Gy x 1
)
SRS_MAX_DIAMETER_MM = Decimal("40")  # > 4.0 cm: SRS not suitable (CM §5, warning srs-size-limit)
SRS_FRACTIONS = 1  # review §2: "SRS is delivered in a single fraction"
FSRT_PREFERRED_ABOVE_MM = Decimal("20")  # review Table 1: FSRT "tumors larger than 2 cm"

# --- FSRT, WBRT, re-WBRT (review Table 1, §2 [16], §4.3 [49], Figure 1) ---------------------------
# (total dose Gy, fractions)
FSRT_FIGURE_1_REGIMEN = (30.0, 5)  # review Figure 1A and 1B: 5 x 6 Gy
FSRT_3_FRACTION_RANGE = ((21.0, 3), (27.0, 3))  # 3 x 7-9 Gy
FSRT_5_FRACTION_RANGE = ((25.0, 5), (35.0, 5))  # 5 x 5-7 Gy
FSRT_FOR_LARGE_LESION = FSRT_FIGURE_1_REGIMEN  # choice: what an SRS order for a lesion > 4 cm
# becomes (5 fractions for the largest volumes [15]; the review's own 5 x 6 Gy, Figure 1)
WBRT_REGIMENS = ((20.0, 5), (30.0, 10))  # 5 x 4 Gy or 10 x 3 Gy; longer regimens no benefit [16]
RE_WBRT_REGIMEN = (20.0, 10)  # 10 x 2 Gy, "more conservative than in primary WBRT" [49]

# --- RANO-BM (CM §6, review Table 2, Lin 2015 [17]) --------------------------------------------
RANO_MEASURABLE_MIN_MM = Decimal("10")  # measurable: longest diameter >= 10 mm
RANO_MAX_TARGETS = 5  # up to 5 target lesions
RANO_PD_SLD_INCREASE = Decimal("0.20")  # PD: SLD >= 20 % above nadir ...
RANO_PD_LESION_MIN_MM = Decimal("5")  # ... and >= 5 mm absolute growth of at least one lesion
RANO_PR_SLD_DECREASE = Decimal("0.30")  # PR: SLD >= 30 % below baseline
RANO_CONFIRMATION_DAYS = 28  # CR/PR must be sustained >= 4 weeks (Lin 2015): reported, not required
# choice: a non-target lesion progresses "unequivocally" when it grows by both of these over its
# own smallest measurement from baseline on (the target thresholds applied to the one lesion)
RANO_NON_TARGET_PD_MM = Decimal("5")
RANO_NON_TARGET_PD_FRACTION = Decimal("0.20")
MEASUREMENT_QUANTUM_MM = Decimal("0.01")  # diameters are compared after rounding to 0.01 mm

# --- Breast GPA 2020 (CM §8, Sperduto 2020 [57], public calculator brainmetgpa.com) ---------------
# Every weight and median below was checked on 2026-12-01 against the calculator's source,
# jbr3zy/BrainMetGPA lib/data.js at commit ab6837f029ca4b2933cd7b29d81786b1ec2c8b68 ("updates to the
# breast/GI GPA", 2020-09-16), "Breast Cancer" block. The paper's own table could not be read.
GPA_KPS_POINTS = ((90, 1.0), (70, 0.5), (0, 0.0))  # (KPS at least, points): 90-100 / 70-80 / <= 60
GPA_ECOG_TO_KPS_BAND = {0: "90-100", 1: "70-80"}  # ECOG >= 2 -> "<= 60" (CM §8)
GPA_ECOG_POINTS = ((0, 1.0), (1, 0.5))  # (ECOG at most, points); ECOG >= 2 -> 0
GPA_SUBTYPE_POINTS = {
    "triple-negative": 0.0,  # basal: ER-, PR-, HER2-
    "luminal-a": 0.5,  # ER or PR +, HER2-
    "her2": 1.5,  # HER2+, ER-, PR- : calculator value; the paper may say 1.0 (choice, see docs)
    "luminal-b": 1.5,  # HER2+, ER or PR +
}
GPA_AGE_YOUNG_BELOW = 60  # age < 60: 0.5; >= 60: 0
GPA_AGE_POINTS_YOUNG = 0.5
GPA_SINGLE_BRAIN_METASTASIS_POINTS = 0.5  # 1 brain metastasis: 0.5; > 1: 0
GPA_NO_EXTRACRANIAL_POINTS = 0.5  # extracranial metastases absent: 0.5; present: 0
# (lowest score, highest score, median survival in months) — CM §8
GPA_BANDS = (
    (0.0, 1.0, 6.0),
    (1.5, 2.0, 12.9),
    (2.5, 3.0, 23.5),
    (3.5, 4.0, 36.3),
)

# --- Radionecrosis after re-irradiation (review §4.2, CM §7) ------------------------------------
# McKay 2017 [40]: volume receiving >= 40 Gy at re-SRS (cm3) -> probability of PRN (review §4.2)
V40GY_PRN_PROBABILITY = ((0.28, 10), (0.76, 20), (1.6, 50))
PRN_CRUDE_MEDIAN_PERCENT = 14.3  # Lucia 2021 [42]: crude median PRN after re-SRS / re-FSRT
PRN_CRUDE_RANGE_PERCENT = (2, 36)  # [42]: range across 13 studies

# --- Data that must not be over-read (CM §10) -----------------------------------------------------
# Beyond the review: EANO-ESMO 2021 (Le Rhun, Ann Oncol 2021;32:1332) advises MRI every 2-3 months
# after local therapy of brain metastases (the project's clinical/FHIR reference notes;
# docs/clinical-model.md). A salvage decision on a scan older than the surveillance interval
# (3 months = 90 days) needs a repeat MRI first (warning outdated-imaging).
OUTDATED_IMAGING_DAYS = 90

# --- Order checks (CM §9) ------------------------------------------------------------------------
RE_WBRT_MAX_TOTAL_GY = 20.0  # a WBRT draft after prior WBRT above 20 Gy ...
RE_WBRT_MAX_DOSE_PER_FRACTION_GY = 2.0  # ... or above 2 Gy per fraction -> suggest 10 x 2 Gy


@dataclass(frozen=True)
class ModelConfig:
    """The thresholds a site may tune (CM: "every such choice must be a named, configurable
    constant"). Defaults are the review's values or the documented choices above."""

    limited_lesion_max: int = LIMITED_LESION_MAX
    countable_lesion_max: int = COUNTABLE_LESION_MAX
    lesion_progression_min_mm: Decimal = LESION_PROGRESSION_MIN_MM
    good_ps_kps_min: int = GOOD_PS_KPS_MIN
    good_ps_ecog_max: int = GOOD_PS_ECOG_MAX
    rano_measurable_min_mm: Decimal = RANO_MEASURABLE_MIN_MM
    rano_max_targets: int = RANO_MAX_TARGETS
    rano_pd_sld_increase: Decimal = RANO_PD_SLD_INCREASE
    rano_pd_lesion_min_mm: Decimal = RANO_PD_LESION_MIN_MM
    rano_pr_sld_decrease: Decimal = RANO_PR_SLD_DECREASE
    rano_non_target_pd_mm: Decimal = RANO_NON_TARGET_PD_MM
    rano_non_target_pd_fraction: Decimal = RANO_NON_TARGET_PD_FRACTION
    gpa_her2_enriched_points: float = GPA_SUBTYPE_POINTS["her2"]
    outdated_imaging_days: int = OUTDATED_IMAGING_DAYS

    def __post_init__(self) -> None:
        if self.limited_lesion_max < 1 or self.countable_lesion_max < self.limited_lesion_max:
            raise ValueError("need 1 <= limited_lesion_max <= countable_lesion_max")
        if not 0 < self.rano_max_targets:
            raise ValueError("rano_max_targets must be positive")
        if self.outdated_imaging_days < 1:
            raise ValueError("outdated_imaging_days must be positive")


DEFAULT_CONFIG = ModelConfig()
