"""The salvage model's entry point: `assess(record, on) -> Assessment` (pure, no IO)."""

from __future__ import annotations

from datetime import date

from cds_service.model.anchoring import anchors
from cds_service.model.assessment import (
    Assessment,
    Option,
    PerformanceStatus,
    Subtype,
    SystemicRegimen,
    Warning,
)
from cds_service.model.beyond_review import beyond_review
from cds_service.model.constants import DEFAULT_CONFIG, ModelConfig
from cds_service.model.data_age import deceased_situation, imaging_age, outdated_imaging_warning
from cds_service.model.facts import as_of
from cds_service.model.first_steps import first_steps
from cds_service.model.gpa import breast_gpa, gpa_for_situation
from cds_service.model.options import build_options
from cds_service.model.patient import PatientRecord
from cds_service.model.performance import performance_status
from cds_service.model.rano_bm import assess_rano_bm
from cds_service.model.receptors import subtype_code
from cds_service.model.safety_warnings import safety_warnings
from cds_service.model.situation import classify
from cds_service.model.systemic import systemic_regimens

PS_MISSING = "performance status (KPS or ECOG): options that depend on it are marked " \
             "'selected patients only'"


def subtype_of(record: PatientRecord) -> Subtype:
    """Subtype from the receptors; 'unknown' unless the known results fix it."""
    her2, er, pr = record.her2.status, record.er.status, record.pr.status
    return Subtype(code=subtype_code(her2, er, pr), her2=her2.value, er=er.value, pr=pr.value)


def _dedupe(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for i in items if i))


def assess(record: PatientRecord, on: date, config: ModelConfig = DEFAULT_CONFIG) -> Assessment:
    """Assess `record` as it stood on `on`.

    Progressive situations get ranked options, systemic regimens and warnings; every other
    situation (not-applicable, not-salvage, no-progression) gets none, so the hooks stay silent.
    A patient deceased on `on` is not-applicable, with the reason as evidence (CM §10). Brain
    imaging older than `config.outdated_imaging_days` adds the outdated-imaging warning first.
    """
    view = as_of(record, on)
    performance: PerformanceStatus = performance_status(view, config)
    by_lesion = anchors(view)  # each lesion's anchor, for RANO-BM and the growth since it
    rano = assess_rano_bm(view, config, by_lesion)
    situation, progression = deceased_situation(view, on) or classify(view, rano, config,
                                                                      by_lesion)
    gpa = gpa_for_situation(breast_gpa(view, on, config), situation.code)
    imaging = imaging_age(view, on, config)

    options: tuple[Option, ...] = ()
    regimens: tuple[SystemicRegimen, ...] = ()
    warnings: tuple[Warning, ...] = ()
    decision_missing: list[str] = list(progression.missing)
    if situation.is_progressive:
        regimens, regimen_missing = systemic_regimens(view, situation)
        option_set = build_options(view, situation, performance, regimens, config)
        options = option_set.options
        if performance.good is None:
            decision_missing.append(PS_MISSING)
        decision_missing += option_set.missing
        decision_missing += regimen_missing
        warnings = safety_warnings(view, situation, progression, performance, options,
                                   option_set.warnings, _dedupe(decision_missing))
        outdated = outdated_imaging_warning(imaging)
        if outdated is not None:  # first: a repeat MRI comes before any other step
            warnings = (outdated, *warnings)
    steps = first_steps(view, situation)
    references = sorted({n for o in options for n in o.references}
                        | {n for f in steps for n in f.references}
                        | {n for r in regimens for n in r.references}
                        | {n for w in warnings for n in w.references}
                        | set(gpa.references))
    return Assessment(
        assessment_date=on,
        situation=situation,
        performance_status=performance,
        subtype=subtype_of(view),
        gpa=gpa,
        rano_bm=rano,
        options=options,
        systemic_regimens=regimens,
        warnings=warnings,
        missing_data=_dedupe(decision_missing + list(gpa.missing) + list(view.missing)),
        references=tuple(references),
        first_steps=steps,
        imaging=imaging,
        skipped=record.skipped,
        beyond_review=beyond_review(view, situation.code, options, warnings, gpa),
    )
