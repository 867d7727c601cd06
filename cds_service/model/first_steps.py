"""What comes before the choice among the salvage options (review §3, Table 2).

- **Radionecrosis work-up.** Progression that rests on clinical deterioration alone, with no lesion
  grown, after SRS/FSRT: post-radiation necrosis or oedema can explain the deterioration (review
  §3: "Post-radiation necrosis (PRN) could mimic the progression of the BCBM [19,20]"); the
  work-up comes first (perfusion/diffusion MRI, MR spectroscopy, PET or SPECT [23-29]).
- **Confirm with a repeat MRI.** New lesion(s) during immune checkpoint therapy are not PD on
  their own (review Table 2: new lesions "except patients who receive immunotherapy"); the
  progression is to be confirmed, and the systemic line is not switched on this evidence.
"""

from __future__ import annotations

from cds_service.model.assessment import FirstStep, Situation
from cds_service.model.evidence import cite, span
from cds_service.model.facts import FOCAL_RT_KINDS, focal_rt_courses, has_prior
from cds_service.model.patient import PatientRecord, TreatmentKind

RADIONECROSIS_WORK_UP = "radionecrosis-work-up"
CONFIRM_WITH_MRI = "confirm-progression-mri"


def radionecrosis_work_up(record: PatientRecord, situation: Situation) -> FirstStep | None:
    """After SRS/FSRT the review's PRN work-up; after WBRT alone the same imaging, for oedema or
    post-radiation change (a choice: with no lesion grown there is no target to treat yet)."""
    if not (situation.imaging_stable and has_prior(record, TreatmentKind.WBRT, *FOCAL_RT_KINDS)):
        return None
    cause = ("post-radiation necrosis or oedema" if focal_rt_courses(record)
             else "oedema or post-radiation change")
    return FirstStep(
        code=RADIONECROSIS_WORK_UP,
        text=("No lesion has grown: the progression rests on clinical deterioration alone. Work "
              f"up {cause} first (perfusion/diffusion MRI, MR spectroscopy, PET or SPECT "
              "[23-29]); PRN can mimic progression [19, 20]."),
        references=cite(19, 20, *span(23, 29)))


def confirm_with_mri(situation: Situation) -> FirstStep | None:
    if not situation.to_confirm:
        return None
    return FirstStep(
        code=CONFIRM_WITH_MRI,
        text=("New lesion(s) during immune checkpoint therapy are not progression on their own "
              "(RANO-BM, review Table 2 [17]): confirm with a repeat MRI before changing "
              "treatment; no switch of the systemic line on this evidence."),
        references=cite(17))


def first_steps(record: PatientRecord, situation: Situation) -> tuple[FirstStep, ...]:
    if not situation.is_progressive:
        return ()
    found = (radionecrosis_work_up(record, situation), confirm_with_mri(situation))
    return tuple(step for step in found if step is not None)
