"""Every standard code the service reads, queries or puts on an order: the one table, with the
published source each was checked against and the date (issue 20 item 2).

One entry per SNOMED CT, LOINC and ICD-10-CM code (or ICD-10-CM category, read by prefix) that
`cds_service.mapping.codes` reads, that the prefetch queries ask for (`cds_service/assessment/queries.py`,
derived from `codes`) and that the cards' suggestions carry (`cards/codes.py`,
`cards/suggestions.py`). RxNorm ingredient codes keep their own table with sources,
`cds_service/mapping/rxnorm.py`; `lookup` answers for both.

NLM, SNOMED International and Regenstrief's browsers were not reachable from the build machine.
Each code was checked on `CHECKED_ON` against published listings that name it with its meaning:

- an HL7 implementation guide or the FHIR specification using or listing the code with that
  meaning (mCODE, CodeX Radiation Therapy, FHIR core value sets) — `HL7_SOURCES`; one suffices
  ("an mCODE/CodeX IG's own use of a code is an acceptable published source for its display");
- otherwise at least `MIN_LISTINGS` independent public listings that agree.

A code with fewer is UNCONFIRMED: the mapping may still read it (dropping it could turn a recorded
fact into "none recorded"), but it is never put on an order — a suggestion that would carry it is
not offered and the card says why (`cards/suggestions.py`, `option_not_orderable`). Leptomeningeal
disease has no SNOMED CT concept here: none could be confirmed from a published source (the mCODE
secondary-cancer value sets give the SNOMED CT hierarchy, not a leptomeningeal concept), so it is
read by ICD-10-CM C79.32 / C79.49 only (docs/clinical-model.md §1).
"""

from __future__ import annotations

from dataclasses import dataclass

from cds_service.mapping import rxnorm
from cds_service.mapping.codes import ICD10, LOINC, RXNORM, SNOMED, icd_norm, system_key

CHECKED_ON = "2026-12-01"
MIN_LISTINGS = 2

# --- Sources -------------------------------------------------------------------------------------
MCODE = ("mCODE STU4 IG source (HL7/fhir-mCODE-ig @543477b, input/fsh: examples EX_*.fsh, value "
         "sets VS_*.fsh, ConceptMap CM_TG263.fsh)")
MCODE_STU1 = ("mCODE STU1 value sets (hl7.org/fhir/us/mcode/STU1: CancerRelatedSurgicalProcedureVS, "
              "KarnofskyPerformanceStatusVS = LOINC LL4986-7, ECOGPerformanceStatusVS; FSH source "
              "copies found by code search)")
MCODE_SECONDARY = ("mCODE SecondaryCancerDisorderVS, ICD-10-CM list (HL7/fhir-mCODE-ig "
                   "VS_CancerCondition.fsh; hl7.org/fhir/us/mcode/STU2)")
MCODE_ELIXHAUSER = ("mCODE STU2.1 data dictionary, Elixhauser ICD-10-CM value sets "
                    "(HL7/fhir-mCODE-ig input/images/data-dictionary/mCODEDataDictionary-STU2.1.json)")
CODEXRT = ("CodeX Radiation Therapy STU2 IG source (HL7/codex-radiation-therapy @d848496, "
           "input/fsh: profiles, VS_DiseaseProgressionQualifier.fsh, examples)")
FHIR_ROUTES = "FHIR core ValueSet route-codes (hl7.org/fhir/R5/valueset-route-codes.html)"
SHC = ("SMART Health Cards Vaccination & Testing IG (HL7 / SMART), lab-result value set with the "
       "LOINC answer lists LL1055-4 and LL2206-2 (public FSH source)")
HL7_SOURCES = frozenset({MCODE, MCODE_STU1, MCODE_SECONDARY, MCODE_ELIXHAUSER, CODEXRT,
                         FHIR_ROUTES, SHC})

# Other public listings (one each; found with the code-search index on CHECKED_ON)
UZL = "UZ Leuven REO FHIR value set of metastasis sites (public FSH)"
GECCO = "GECCO IG de.gecco 1.0.5, discharge-disposition value set (public)"
MII = "German MII / oBDS oncology ConceptMaps and value sets (public FSH)"
MCODE_EXTRACTION = rxnorm.MCODE_EXTRACTION
LIST_A = rxnorm.PUBLIC_LISTING
LIST_B = "a second, independent public code table listing the code with this meaning"


@dataclass(frozen=True)
class TermCode:
    system: str  # codes.SNOMED / LOINC / ICD10 / RXNORM
    code: str  # as published (ICD-10-CM with its dot)
    display: str
    sources: tuple[str, ...]
    note: str = ""  # disagreements, why unconfirmed
    checked_on: str = CHECKED_ON

    @property
    def confirmed(self) -> bool:
        return bool(HL7_SOURCES & set(self.sources)) or len(set(self.sources)) >= MIN_LISTINGS

    @property
    def key(self) -> tuple[str, str]:
        return self.system, icd_norm(self.code) if self.system == ICD10 else self.code


def _sct(code: str, display: str, *sources: str, note: str = "") -> TermCode:
    return TermCode(SNOMED, code, display, sources, note)


def _lnc(code: str, display: str, *sources: str, note: str = "") -> TermCode:
    return TermCode(LOINC, code, display, sources, note)


def _icd(code: str, display: str, *sources: str, note: str = "") -> TermCode:
    return TermCode(ICD10, code, display, sources, note)


SNOMED_CODES: tuple[TermCode, ...] = (
    # conditions
    _sct("254837009", "Malignant neoplasm of breast (disorder)", MCODE, CODEXRT),
    _sct("353431000119107", "Primary malignant neoplasm of female left breast (disorder)", MCODE),
    _sct("353511000119101", "Primary malignant neoplasm of female right breast", LIST_A,
         note="UNCONFIRMED: one public listing (two copies in one repository)"),
    _sct("372064008", "Malignant neoplasm of female breast (disorder)", LIST_A, LIST_B,
         note="one other listing (two copies) names it 'Nottingham grade 2 breast carcinoma'"),
    _sct("408643008", "Infiltrating duct carcinoma of breast (disorder)", MCODE_EXTRACTION,
         LIST_A, note="one listing names it 'Metastatic breast cancer'"),
    _sct("363346000", "Malignant neoplastic disease (disorder)", MCODE),
    _sct("372087000", "Primary malignant neoplasm (disorder)", MCODE),
    _sct("94225005", "Secondary malignant neoplasm of brain", MCODE),
    _sct("94222008", "Secondary malignant neoplasm of bone", LIST_A, MCODE_EXTRACTION,
         note="mCODE STU1-era example AdamEverymanPatient also; one listing says liver"),
    _sct("94381002", "Secondary malignant neoplasm of liver", UZL, LIST_A),
    _sct("94391008", "Secondary malignant neoplasm of lung", UZL, LIST_A,
         note="two other listings name it differently (bone; mesothelioma)"),
    _sct("94493005", "Secondary malignant neoplasm of pleura", UZL,
         note="UNCONFIRMED: one listing"),
    _sct("94161006", "Secondary malignant neoplasm of adrenal gland", UZL,
         note="UNCONFIRMED: one listing"),
    # neurological symptoms
    _sct("91175000", "Seizure (finding)", LIST_A, LIST_B),
    _sct("50582007", "Hemiplegia (disorder)", LIST_A, LIST_B,
         note="three listings say hemiplegia, two hemiparesis: read as a motor deficit"),
    _sct("2032001", "Cerebral edema (disorder)", LIST_A, LIST_B),
    _sct("1148717008", "raised intracranial pressure (FIP, 'or similar')",
         note="UNCONFIRMED: no published listing found"),
    # body sites and volumes
    _sct("76752008", "Breast structure (body structure)", MCODE, CODEXRT),
    _sct("80248007", "Left breast structure (body structure)", MCODE),
    _sct("73056007", "Right breast structure (body structure)", LIST_A, LIST_B),
    _sct("12738006", "Brain structure (body structure)", MCODE, CODEXRT),
    _sct("15926001", "Brainstem structure (body structure)", MCODE),
    _sct("83678007", "Structure of cerebrum (body structure)", MCODE),
    _sct("113305005", "Cerebellar structure (body structure)", MCODE),
    _sct("6566002", "Cerebellar hemisphere structure (body structure)", MCODE),
    _sct("5366008", "Hippocampal structure (body structure)", MCODE),
    _sct("67923007", "Hypothalamic structure (body structure)", MCODE),
    _sct("49557009", "Pontine structure (body structure)", MCODE),
    _sct("83251001", "Frontal lobe structure (body structure)", MCODE),
    _sct("16630005", "Parietal lobe structure (body structure)", MCODE),
    _sct("78277001", "Temporal lobe structure (body structure)", MCODE),
    _sct("31065004", "Occipital lobe structure (body structure)", MCODE),
    _sct("279245009", "ventricular system of brain",
         note="UNCONFIRMED: only an undisplayed DICOM example found"),
    _sct("228793007", "Planning target volume (observable entity)", MCODE, CODEXRT),
    _sct("228791009", "Gross tumor volume (observable entity)", MCODE),
    _sct("228792002", "Clinical target volume (observable entity)", MCODE),
    _sct("255503000", "Entire (qualifier value)", MCODE, CODEXRT),
    _sct("255609007", "Partial (qualifier value)", MCODE, CODEXRT),
    # disease status
    _sct("271299001", "Patient's condition worsened (finding)", MCODE, CODEXRT),
    _sct("359746009", "Patient's condition stable (finding)", MCODE),
    _sct("268910001", "Patient's condition improved (finding)", MCODE),
    _sct("709137006", "Patient condition undetermined (finding)", MCODE),
    _sct("281900007", "No abnormality detected (finding)", MCODE),
    _sct("255470001", "Local (qualifier value)", CODEXRT),
    _sct("261007001", "Distant (qualifier value)", CODEXRT),
    _sct("252416005", "Histopathology test (procedure)", MCODE),
    _sct("108257001", "Anatomic pathology procedure", MCODE),
    # receptor answers
    _sct("10828004", "Positive (qualifier value)", MCODE),
    _sct("260385009", "Negative (qualifier value)", MCODE),
    _sct("42425007", "Equivocal (qualifier value)", LIST_A, LIST_B),
    _sct("260373001", "Detected (qualifier value)", LIST_A, LIST_B),
    _sct("260415000", "Not detected (qualifier value)", MCODE),
    # procedures
    _sct("1217123003", "Radiotherapy course of treatment (regime/therapy)", MCODE, CODEXRT),
    _sct("1287742003", "Radiotherapy (procedure)", CODEXRT),
    _sct("363676003", "Palliative - procedure intent", MCODE),
    _sct("446103006", "Partial excision of lesion of brain", MCODE_STU1, MCODE_EXTRACTION),
    _sct("447115003", "Total excision of lesion of brain", MCODE_STU1),
    _sct("70586009", "Operation on brain", MCODE_STU1),
    _sct("25353009", "Craniotomy", LIST_A, note="UNCONFIRMED: one listing"),
    _sct("387713003", "Surgical procedure (procedure)", MCODE),
    _sct("3457005", "Patient referral (procedure)", GECCO, LIST_A),
    _sct("306237005", "Referral to palliative care service (procedure)", GECCO, LIST_B,
         note="other listings call it a referral to hospice / specialist"),
    # routes that are not systemic
    _sct("6064005", "Topical route", FHIR_ROUTES),
    _sct("10547007", "Otic route", FHIR_ROUTES),
    _sct("37161004", "Rectal route", FHIR_ROUTES),
    _sct("447694001", "Respiratory tract route (qualifier value)", LIST_A, LIST_B),
    _sct("46713006", "Nasal route", note="UNCONFIRMED: not seen in a listing (dose-form words "
                                         "back it up)"),
    _sct("54485002", "Ophthalmic route", note="UNCONFIRMED: not seen in a listing (dose-form "
                                              "words back it up)"),
)

LOINC_CODES: tuple[TermCode, ...] = (
    _lnc("21889-1", "Size Tumor", MCODE),
    _lnc("33728-7", "Size.maximum dimension in Tumor", MCODE),
    _lnc("97509-4", "Cancer Disease Progression", MCODE, CODEXRT),
    _lnc("88040-1", "Response to cancer treatment (mCODE STU1/2 disease status)", MCODE),
    _lnc("89243-0", "Karnofsky Performance Status score", MCODE),
    _lnc("89247-1", "ECOG Performance Status score", MCODE),
    _lnc("48676-1", "HER2 [Interpretation] in Tissue", MCODE),
    _lnc("85319-2", "HER2 [Presence] in Breast cancer specimen by Immune stain", MCODE),
    _lnc("85318-4", "ERBB2 gene duplication [Presence] in Breast cancer specimen by FISH", MCODE),
    _lnc("31150-6", "ERBB2 gene duplication [Presence] in Tissue by FISH", MCODE),
    _lnc("72383-3", "HER2 [Presence] in Tissue by Immunoassay", MCODE),
    _lnc("49683-6", "ERBB2 gene copy number/Chromosome 17 copy number in Tissue by FISH", MCODE),
    _lnc("74860-8", "ERBB2 gene copy number/nucleus in Tissue by FISH", MCODE),
    _lnc("16112-5", "Estrogen receptor [Interpretation] in Tissue", MCODE),
    _lnc("85337-4", "Estrogen receptor Ag [Presence] in Breast cancer specimen by Immune stain",
         MCODE),
    _lnc("40556-3", "Estrogen receptor Ag [Presence] in Tissue by Immune stain", MCODE),
    _lnc("16113-3", "Progesterone receptor [Interpretation] in Tissue", MCODE),
    _lnc("85339-0", "Progesterone receptor Ag [Presence] in Breast cancer specimen by Immune "
                    "stain", MCODE),
    _lnc("40557-1", "Progesterone receptor Ag [Presence] in Tissue by Immune stain", MCODE),
    _lnc("85329-1", "Cells.estrogen receptor/100 cells in Breast cancer specimen by Immune stain",
         MCODE),
    _lnc("85325-9", "Cells.progesterone receptor/100 cells in Breast cancer specimen by Immune "
                    "stain", MCODE),
    # answers
    _lnc("LA6576-8", "Positive", MCODE),
    _lnc("LA6577-6", "Negative", MCODE),
    _lnc("LA11885-3", "Equivocal", SHC, MII),
    _lnc("LA4259-3", "Borderline", SHC),
    _lnc("LA18996-1", "Strong positive", SHC),
    _lnc("LA9622-7", "ECOG 0: Fully active", MCODE),
    _lnc("LA9623-5", "ECOG 1: Restricted in physically strenuous activity", MCODE_STU1, MII),
    _lnc("LA9624-3", "ECOG 2: Ambulatory and capable of all selfcare", MCODE_STU1, MII),
    _lnc("LA9625-0", "ECOG 3: Capable of only limited selfcare", MCODE_STU1, MII),
    _lnc("LA9626-8", "ECOG 4: Completely disabled", MCODE_STU1, MII),
    _lnc("LA9627-6", "Dead (ECOG 5, KPS 0)", MCODE_STU1, MII),
    _lnc("LA29175-9", "KPS 100: Normal; no complaints; no evidence of disease", MCODE_STU1, MII),
    _lnc("LA29176-7", "KPS 90: Able to carry on normal activity; minor signs or symptoms", MCODE),
    _lnc("LA29177-5", "KPS 80", MCODE_STU1, MII),
    _lnc("LA29178-3", "KPS 70", MCODE_STU1, MII),
    _lnc("LA29179-1", "KPS 60", MCODE_STU1, MII),
    _lnc("LA29180-9", "KPS 50", MCODE_STU1, MII),
    _lnc("LA29181-7", "KPS 40", MCODE_STU1, MII),
    _lnc("LA29182-5", "KPS 30", MCODE_STU1, MII),
    _lnc("LA29183-3", "KPS 20", MCODE_STU1, MII),
    _lnc("LA29184-1", "KPS 10: Moribund; fatal processes progressing rapidly", MCODE_STU1, MII),
)

ICD10_CODES: tuple[TermCode, ...] = (
    _icd("C50", "Malignant neoplasm of breast (category)", MCODE,
         note="mCODE STU4 example uses C50.811"),
    _icd("C79.31", "Secondary malignant neoplasm of brain", MCODE_SECONDARY),
    _icd("C79.32", "Secondary malignant neoplasm of cerebral meninges", MCODE_SECONDARY),
    _icd("C79.49", "Secondary malignant neoplasm of other parts of nervous system",
         MCODE_SECONDARY),
    _icd("C78", "Secondary malignant neoplasm of respiratory and digestive organs",
         MCODE_SECONDARY),
    _icd("C79.0", "Secondary malignant neoplasm of kidney and renal pelvis", MCODE_SECONDARY),
    _icd("C79.1", "Secondary malignant neoplasm of bladder and other urinary organs",
         MCODE_SECONDARY),
    _icd("C79.2", "Secondary malignant neoplasm of skin", MCODE_SECONDARY),
    _icd("C79.5", "Secondary malignant neoplasm of bone and bone marrow", MCODE_SECONDARY),
    _icd("C79.6", "Secondary malignant neoplasm of ovary", MCODE_SECONDARY),
    _icd("C79.7", "Secondary malignant neoplasm of adrenal gland", MCODE_SECONDARY),
    _icd("C79.8", "Secondary malignant neoplasm of other specified sites", MCODE_SECONDARY),
    _icd("C79.9", "Secondary malignant neoplasm of unspecified site", MCODE_SECONDARY),
    _icd("R56", "Convulsions, not elsewhere classified (category)", MCODE_ELIXHAUSER),
    _icd("G40", "Epilepsy and recurrent seizures (category)", MCODE_ELIXHAUSER),
    _icd("G81", "Hemiplegia and hemiparesis (category)", MCODE_ELIXHAUSER),
    _icd("G93.6", "Cerebral edema", MCODE_ELIXHAUSER),
    _icd("G93.5", "Compression of brain", MCODE_ELIXHAUSER),
)


def _rxnorm_entries() -> tuple[TermCode, ...]:
    """The RxNorm ingredient table (rxnorm.py) seen through this table: confirmed there means
    confirmed here, so both rules say the same."""
    return tuple(TermCode(RXNORM, c.code, c.display,
                          c.sources if c.confirmed else (),
                          "" if c.confirmed else "UNCONFIRMED: fewer than "
                          f"{rxnorm.MIN_SOURCES} RxNorm listings (rxnorm.py)", c.checked_on)
                 for c in rxnorm.INGREDIENTS)


# RxNorm codes of regimen drugs the mapping also reads (codes.DRUGS) outside the ingredient table:
# read, never ordered; their one home is rxnorm.READ_ONLY.
RXNORM_READ_ONLY: tuple[TermCode, ...] = tuple(
    TermCode(RXNORM, c.code, c.display, c.sources, c.note) for c in rxnorm.READ_ONLY)

TABLE: tuple[TermCode, ...] = (*SNOMED_CODES, *LOINC_CODES, *ICD10_CODES, *_rxnorm_entries(),
                               *RXNORM_READ_ONLY)
BY_KEY: dict[tuple[str, str], TermCode] = {t.key: t for t in TABLE}


def lookup(system: str, code: str) -> TermCode | None:
    """The table's entry for a code; `system` a short key (codes.SNOMED …) or a system URI."""
    key = system_key(system)
    return BY_KEY.get((key, icd_norm(code) if key == ICD10 else code))


def confirmed(system: str, code: str) -> bool:
    entry = lookup(system, code)
    return entry is not None and entry.confirmed
