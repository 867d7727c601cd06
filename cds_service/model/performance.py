"""Performance status: good (KPS >= 70 or ECOG 0-1) or poor (clinical-model §4).

Choice (docs/clinical-model.md): when both scores are on record, the more recent one decides (KPS
on a tie or when neither is dated, as it is the scale the review and the GPA use); the same score
feeds the GPA, where an ECOG value stands in for KPS and is flagged. Unknown performance status is
``good = None`` — never silently treated as good or poor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cds_service.model.assessment import PerformanceStatus
from cds_service.model.constants import DEFAULT_CONFIG, ModelConfig
from cds_service.model.patient import PatientRecord, PerformanceScore

KPS, ECOG = "kps", "ecog"


@dataclass(frozen=True)
class ChosenScore:
    scale: str  # "kps" | "ecog"
    value: int
    date: date | None
    source: str

    def text(self) -> str:
        return f"{'KPS' if self.scale == KPS else 'ECOG'} {self.value}"


def choose_score(record: PatientRecord) -> ChosenScore | None:
    kps, ecog = record.kps, record.ecog

    def chosen(scale: str, score: PerformanceScore) -> ChosenScore:
        return ChosenScore(scale, score.value, score.date, score.source)

    if kps and ecog:
        if ecog.date and (kps.date is None or ecog.date > kps.date):
            return chosen(ECOG, ecog)
        return chosen(KPS, kps)
    if kps:
        return chosen(KPS, kps)
    if ecog:
        return chosen(ECOG, ecog)
    return None


def is_good(score: ChosenScore, config: ModelConfig = DEFAULT_CONFIG) -> bool:
    if score.scale == KPS:
        return score.value >= config.good_ps_kps_min
    return score.value <= config.good_ps_ecog_max


def performance_status(record: PatientRecord,
                       config: ModelConfig = DEFAULT_CONFIG) -> PerformanceStatus:
    score = choose_score(record)
    return PerformanceStatus(
        kps=record.kps.value if record.kps else None,
        ecog=record.ecog.value if record.ecog else None,
        good=None if score is None else is_good(score, config),
        basis=None if score is None else score.text(),
    )
