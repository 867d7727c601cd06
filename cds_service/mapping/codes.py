"""Every code the mapping reads, in one place (the FHIR input profile, "FIP" below, as kept in
docs/fhir-mapping.md).

Codes are compared as (system key, code): system URIs (and their OID aliases) are folded to a short
key by `system_key`, so "http://snomed.info/sct" and "urn:oid:2.16.840.1.113883.6.96" are the same
SNOMED CT. ICD-10-CM codes are compared without their dot ("C79.31" == "C7931") and by prefix
where FIP gives a range ("C50.*").

Every SNOMED CT, LOINC and ICD-10-CM code here is in the terminology table with the published
source it was checked against and the date (`cds_service/mapping/terminology.py`, CM §5c); codes
that could not be confirmed are read but never ordered, and the drug tables also match by name
(see docs/fhir-mapping.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from cds_service.mapping.rxnorm import ingredient, read_only
from cds_service.model.patient import TherapyClass

# --- Code systems --------------------------------------------------------------------------------
SNOMED = "sct"
LOINC = "loinc"
ICD10 = "icd10"  # ICD-10-CM and WHO ICD-10 (the codes the spec names are identical in both)
RXNORM = "rxnorm"
UCUM = "ucum"

SYSTEM_KEYS: dict[str, str] = {
    "http://snomed.info/sct": SNOMED,
    "urn:oid:2.16.840.1.113883.6.96": SNOMED,
    "http://loinc.org": LOINC,
    "urn:oid:2.16.840.1.113883.6.1": LOINC,
    "http://hl7.org/fhir/sid/icd-10-cm": ICD10,
    "urn:oid:2.16.840.1.113883.6.90": ICD10,
    "http://hl7.org/fhir/sid/icd-10": ICD10,
    "urn:oid:2.16.840.1.113883.6.3": ICD10,
    "http://www.nlm.nih.gov/research/umls/rxnorm": RXNORM,
    "urn:oid:2.16.840.1.113883.6.88": RXNORM,
    "http://unitsofmeasure.org": UCUM,
}


def system_key(system: str | None) -> str:
    """Short key of a code system URI; unknown systems keep their URI (never match a table)."""
    if not system:
        return ""
    known = SYSTEM_KEYS.get(system)  # a URI as written in the table: no stripping needed
    if known is not None:
        return known
    return SYSTEM_KEYS.get(system.strip().rstrip("/"), system.strip())


def icd_norm(code: str) -> str:
    return code.replace(".", "").strip().upper()


@dataclass(frozen=True)
class CodeSet:
    """SNOMED codes plus ICD-10 codes/prefixes (dot-less) of one clinical meaning."""

    snomed: frozenset[str] = frozenset()
    icd10_prefixes: tuple[str, ...] = ()

    def matches(self, system: str, code: str) -> bool:
        if system == SNOMED:
            return code in self.snomed
        if system == ICD10:
            norm = icd_norm(code)
            return any(norm.startswith(p) for p in self.icd10_prefixes)
        return False


# --- Conditions (FIP "Conditions") -------------------------------------------------------------
BREAST_CANCER = CodeSet(
    snomed=frozenset({
        "254837009",  # FIP: Malignant neoplasm of breast (CodeX Diagnosis-1-Breast)
        "353431000119107",  # FIP: Primary malignant neoplasm of female left breast (mCODE Jenny M)
        "353511000119101",  # Primary malignant neoplasm of female right breast (EHR code lists)
        "372064008",  # Malignant neoplasm of female breast (widely used in EHR value sets)
        "408643008",  # Infiltrating duct carcinoma of breast (widely used in EHR value sets)
    }),
    icd10_prefixes=("C50",),  # FIP: ICD-10-CM C50.*
)
# mCODE also allows a general cancer code with the site in bodySite (the STU4 example
# primary-cancer-condition-breast: 363346000 + left breast): such a primary cancer in the breast
# is a breast cancer.
GENERAL_PRIMARY_CANCER = frozenset({
    "363346000",  # Malignant neoplastic disease (mCODE STU4 example)
    "372087000",  # Primary malignant neoplasm (seen in IG examples as a category code)
})
PRIMARY_CANCER_PROFILE_SUFFIX = "mcode-primary-cancer-condition"
BREAST_SITES = frozenset({
    "76752008",  # Breast structure (mcode-radiotherapy-treatment-location-vs)
    "80248007",  # Left breast structure (mCODE examples)
    "73056007",  # Right breast structure
})
BRAIN_METASTASIS = CodeSet(snomed=frozenset({"94225005"}), icd10_prefixes=("C7931",))  # FIP
# FIP: C79.32 cerebral meninges, C79.49 spinal. No SNOMED leptomeningeal code could be verified,
# so none is read (FIP: "a SNOMED code may be added after checking it").
LEPTOMENINGEAL = CodeSet(icd10_prefixes=("C7932", "C7949"))
EXTRACRANIAL_METASTASIS = CodeSet(
    snomed=frozenset({
        "94222008",  # bone
        "94381002",  # liver
        "94391008",  # lung
        "94493005",  # pleura
        "94161006",  # adrenal gland
    }),
    # FIP: C78.*, C79.0-C79.2, C79.5*-C79.8*, C79.9 (C77 lymph nodes and C79.3/C79.4 CNS excluded)
    icd10_prefixes=("C78", "C790", "C791", "C792", "C795", "C796", "C797", "C798", "C799"),
)


@dataclass(frozen=True)
class SymptomCode:
    display: str
    codes: CodeSet


# Neurological symptoms that make brain disease "symptomatic" (FIP; review §4.2-4.3: surgery "if
# symptomatic", dominant lesion "with oedema ... or neurological symptoms"). SNOMED codes are FIP's;
# the ICD-10-CM categories are the same findings as coded on problem lists.
NEUROLOGICAL_SYMPTOMS: tuple[SymptomCode, ...] = (
    SymptomCode("seizure", CodeSet(frozenset({"91175000"}), ("R56", "G40"))),  # R56 convulsions,
    # G40 epilepsy and recurrent seizures
    SymptomCode("hemiparesis", CodeSet(frozenset({"50582007"}), ("G81",))),  # G81 hemiplegia and
    # hemiparesis
    SymptomCode("cerebral oedema", CodeSet(frozenset({"2032001"}), ("G936",))),  # G93.6 edema
    # FIP names 1148717008 "(or similar)"; UNVERIFIED against a terminology server. G93.5
    # compression of brain is the ICD-10-CM code for mass effect / raised pressure from a lesion.
    SymptomCode("raised intracranial pressure", CodeSet(frozenset({"1148717008"}), ("G935",))),
)

# Condition.clinicalStatus codes that count (FIP: "Only clinicalStatus active/recurrence/relapse").
ACTIVE_CLINICAL_STATUS = frozenset({"active", "recurrence", "relapse"})
# Condition.verificationStatus codes that make the Condition void (FIP).
VOID_VERIFICATION_STATUS = frozenset({"refuted", "entered-in-error"})
# Core extension linking a secondary cancer to its primary (mCODE relatedPrimaryCancerCondition).
CONDITION_RELATED_URL = "http://hl7.org/fhir/StructureDefinition/condition-related"

# --- Observations (FIP "Observations") -----------------------------------------------------------
IGNORED_OBSERVATION_STATUS = frozenset({"entered-in-error", "cancelled"})  # FIP

HER2, ER, PR = "her2", "er", "pr"
RECEPTOR_NAMES = {HER2: "HER2", ER: "ER", PR: "PR"}
# LOINC code -> marker, for results read from an answer code or text (FIP table).
RECEPTOR_RESULT_CODES: dict[str, str] = {
    "48676-1": HER2, "85319-2": HER2, "85318-4": HER2, "31150-6": HER2, "72383-3": HER2,
    "49683-6": HER2, "74860-8": HER2,
    "16112-5": ER, "85337-4": ER, "40556-3": ER,
    "16113-3": PR, "85339-0": PR, "40557-1": PR,
}
HER2_IHC_CODE = "85319-2"  # IHC: a "0"/"1+"/"2+"/"3+" score may come as text
# LOINC code -> marker for "% of tumour cells stained" results (FIP: >= 1 % is positive).
RECEPTOR_PERCENT_CODES: dict[str, str] = {"85329-1": ER, "85325-9": PR}
HR_POSITIVE_MIN_PERCENT = 1.0  # FIP; ASCO/CAP 2020 ER/PR guideline: >= 1 % stained cells positive

POSITIVE, NEGATIVE, EQUIVOCAL = "positive", "negative", "equivocal"
# Answer codes (FIP; LA4259-3/LA18996-1 are LOINC list LL2206-2, SNOMED 42425007 Equivocal and
# 260373001/260415000 Detected/Not detected are the SNOMED qualifier values labs send).
RECEPTOR_ANSWERS: dict[tuple[str, str], str] = {
    (LOINC, "LA6576-8"): POSITIVE,
    (LOINC, "LA6577-6"): NEGATIVE,
    (LOINC, "LA11885-3"): EQUIVOCAL,
    (LOINC, "LA4259-3"): EQUIVOCAL,  # Borderline
    (LOINC, "LA18996-1"): POSITIVE,  # Strong positive
    (SNOMED, "10828004"): POSITIVE,
    (SNOMED, "260385009"): NEGATIVE,
    (SNOMED, "42425007"): EQUIVOCAL,
    (SNOMED, "260373001"): POSITIVE,  # Detected
    (SNOMED, "260415000"): NEGATIVE,  # Not detected
}
# v3 ObservationInterpretation codes, read only when the value itself says nothing.
INTERPRETATION_ANSWERS = {"POS": POSITIVE, "NEG": NEGATIVE}
# Free-text results (valueString, CodeableConcept.text), after lower-casing and trimming.
RECEPTOR_TEXT_ANSWERS: dict[str, str] = {
    "positive": POSITIVE, "pos": POSITIVE, "+": POSITIVE, "strongly positive": POSITIVE,
    "negative": NEGATIVE, "neg": NEGATIVE, "-": NEGATIVE,
    "equivocal": EQUIVOCAL, "borderline": EQUIVOCAL, "indeterminate": EQUIVOCAL,
}
# HER2 IHC scores (ASCO/CAP 2018 HER2 guideline: 0 and 1+ negative, 2+ equivocal, 3+ positive).
HER2_IHC_SCORES: dict[str, str] = {
    "0": NEGATIVE, "1+": NEGATIVE, "2+": EQUIVOCAL, "3+": POSITIVE,
}

KPS_CODE = "89243-0"  # FIP
ECOG_CODE = "89247-1"  # FIP
KPS_RANGE = (0, 100)
ECOG_RANGE = (0, 5)
# LOINC answer list LL529-9 (ECOG); checked in public IG value sets (mCODE examples use LA9622-7).
ECOG_ANSWERS: dict[str, int] = {
    "LA9622-7": 0, "LA9623-5": 1, "LA9624-3": 2, "LA9625-0": 3, "LA9626-8": 4, "LA9627-6": 5,
}
# LOINC answer list LL4986-7 (Karnofsky); the mCODE KPS example uses LA29176-7 for 90.
KPS_ANSWERS: dict[str, int] = {
    "LA29175-9": 100, "LA29176-7": 90, "LA29177-5": 80, "LA29178-3": 70, "LA29179-1": 60,
    "LA29180-9": 50, "LA29181-7": 40, "LA29182-5": 30, "LA29183-3": 20, "LA29184-1": 10,
    "LA9627-6": 0,
}

TUMOR_SIZE_CODE = "21889-1"  # FIP: tumour size
LONGEST_DIMENSION_CODE = "33728-7"  # FIP: component, longest dimension
# Length units (UCUM code, or the unit text when no code is sent) -> factor to millimetres.
LENGTH_UNITS_MM: dict[str, float] = {
    "mm": 1.0, "millimeter": 1.0, "millimeters": 1.0, "millimetre": 1.0, "millimetres": 1.0,
    "cm": 10.0, "centimeter": 10.0, "centimeters": 10.0, "centimetre": 10.0, "centimetres": 10.0,
}

# Disease status: 97509-4 (mCODE STU4, FIP); 88040-1 is the code mCODE STU1/STU2 used.
DISEASE_STATUS_CODES = frozenset({"97509-4", "88040-1"})
WORSENED, STABLE, IMPROVED, UNDETERMINED = "worsened", "stable", "improved", "undetermined"
TREND_CODES: dict[str, str] = {
    "271299001": WORSENED,  # FIP
    "359746009": STABLE,  # FIP
    "268910001": IMPROVED,  # FIP
    "709137006": UNDETERMINED,  # FIP
    # mcode-condition-status-trend-vs also has "No abnormality detected" (no evidence of
    # disease): the best possible response, so it reads as improved (docs/fhir-mapping.md).
    "281900007": IMPROVED,
}
# CodeX: codexrt-radiotherapy-disease-progression-qualifier (STU2 text) and
# codexrt-radiotherapy-progression-qualifier (the guide's own example cancer-disease-status-22B)
PROGRESSION_QUALIFIER_URL_SUFFIXES = ("radiotherapy-disease-progression-qualifier",
                                      "radiotherapy-progression-qualifier")
# CodeX RadiotherapyDiseaseStatus names the treated volume in this extension (not in focus)
STATUS_VOLUME_URL_SUFFIX = "codexrt-radiotherapy-volume-extension"
LOCAL, DISTANT = "local", "distant"
QUALIFIER_CODES = {"255470001": LOCAL, "261007001": DISTANT}  # FIP; nodal etc. are not read
EVIDENCE_TYPE_URL_SUFFIX = "cancer-disease-status-evidence-type"  # mCODE
# Evidence types that mean "confirmed by pathology" (mcode-cancer-disease-status-evidence-type-vs:
# 252416005 "intended to be used when there is a biopsy"; the mCODE STU4 example
# cancer-disease-status-improved uses 108257001 Anatomic pathology procedure).
PATHOLOGY_EVIDENCE = frozenset({"252416005", "108257001"})

# --- Body structures (FIP "Lesions and treated volumes") ----------------------------------------
TUMOR_PROFILE_SUFFIX = "mcode-tumor"
VOLUME_PROFILE_SUFFIX = "radiotherapy-volume"  # mcode- and codexrt- RadiotherapyVolume
# mcode-radiotherapy-volume-type-vs: PTV, GTV, CTV (a BodyStructure with one is a treated volume)
VOLUME_MORPHOLOGY = frozenset({"228793007", "228791009", "228792002"})
WHOLE_ORGAN_QUALIFIER = "255503000"  # FIP: Entire -> whole brain
PARTIAL_QUALIFIER = "255609007"  # FIP: Partial -> focal
# Brain and its parts, from mcode-radiotherapy-treatment-location-vs (mCODE VS_Radiotherapy.fsh).
BRAIN_LOCATIONS = frozenset({
    "12738006",  # brain structure
    "15926001",  # brainstem
    "83678007",  # cerebrum
    "113305005",  # cerebellum
    "6566002",  # cerebellar hemisphere
    "5366008",  # hippocampus (hippocampal-avoidance volumes)
    "67923007",  # hypothalamus
    "49557009",  # pons
    "83251001",  # frontal lobe
    "16630005",  # parietal lobe
    "78277001",  # temporal lobe
    "31065004",  # occipital lobe
    "279245009",  # ventricular system of brain
})
RELATED_CONDITION_URL_SUFFIX = "mcode-related-condition"  # Tumor -> its Condition

# --- Procedures (FIP "Procedures") ---------------------------------------------------------------
RT_COURSE_CODE = "1217123003"  # FIP: Radiotherapy course of treatment
RT_COURSE_PROFILE_SUFFIXES = ("mcode-radiotherapy-course-summary",
                              "codexrt-radiotherapy-course-summary")
RT_COUNTED_STATUS = frozenset({"completed", "in-progress"})  # FIP
DOSE_DELIVERED_URL_SUFFIX = "radiotherapy-dose-delivered-to-volume"
DOSE_PRESCRIBED_URL_SUFFIX = "radiotherapy-dose-prescribed-to-volume"
# CodeX RT STU2: the planned course (ServiceRequest a course summary is basedOn) carries
# codexrt-radiotherapy-dose-planned-to-volume with `fractions`, as the XRTS-05 brain example does;
# phase and plan prescriptions carry codexrt-radiotherapy-fractions-prescribed.
DOSE_PLANNED_URL_SUFFIX = "radiotherapy-dose-planned-to-volume"
FRACTIONS_PRESCRIBED_URL_SUFFIX = "radiotherapy-fractions-prescribed"
RT_IN_PROGRESS_STATUS = "in-progress"
# Versions of one course (same identifier): the preferred status first (FIP; CM §10).
RT_VERSION_STATUS_ORDER = ("completed", "in-progress")
REIRRADIATION_URL_SUFFIX = "radiotherapy-course-involves-reirradiation"
RT_PRESCRIPTION_PROFILE_SUFFIX = "codexrt-radiotherapy-course-prescription"
# Dose units -> factor to cGy (FIP: cGy; Gy is accepted because planning systems send it).
DOSE_UNITS_CGY: dict[str, float] = {"cgy": 1.0, "gy": 100.0}

# Brain surgery (FIP; from an mCODE STU1 surgical value set). All four are brain procedures by
# their SNOMED meaning, so no other brain evidence is needed.
BRAIN_SURGERY_CODES: dict[str, str] = {
    "446103006": "partial excision of lesion of brain",
    "447115003": "total excision of lesion of brain",
    "25353009": "craniotomy",
    "70586009": "operation on brain",
}
SURGERY_PROFILE_SUFFIX = "mcode-cancer-related-surgical-procedure"
SURGERY_COUNTED_STATUS = frozenset({"completed"})  # FIP
TARGET_BODY_STRUCTURE_URL = "http://hl7.org/fhir/StructureDefinition/procedure-targetBodyStructure"

# --- Medications (FIP "Medications") -------------------------------------------------------------
ACTIVE_MED_STATUS = frozenset({"active"})
# MedicationRequest.intent values that are a current prescription (a "proposal" is not).
PRESCRIPTION_INTENTS = frozenset({
    "order", "original-order", "reflex-order", "filler-order", "instance-order", "plan"})
DRAFT_ORDER_STATUS = frozenset({"draft", "active", "on-hold"})  # CDS Hooks draftOrders


@dataclass(frozen=True)
class Drug:
    """One drug of the RxNorm table: generic name, class, codes and the names EHR text uses."""

    name: str
    therapy_class: TherapyClass | None  # None for corticosteroids
    rxnorm: frozenset[str] = frozenset()
    aliases: tuple[str, ...] = ()  # brand names and abbreviations, matched like the name
    # dose of this steroid equivalent to DEX_REFERENCE_MG dexamethasone (glucocorticoid potency)
    dex_equivalent_mg: float | None = None

    @property
    def is_steroid(self) -> bool:
        return self.dex_equivalent_mg is not None


# Standard glucocorticoid equivalence: 0.75 mg dexamethasone = 5 mg prednisone/prednisolone =
# 4 mg methylprednisolone = 20 mg hydrocortisone = 25 mg cortisone = 0.75 mg betamethasone
# (e.g. Liu et al., Allergy Asthma Clin Immunol 2013;9:30, Table 1). Used only to compare the
# doses of successive steroid orders; the trend is reported in dexamethasone mg.
DEX_REFERENCE_MG = 0.75

_H, _HO, _C, _CH, _O = (TherapyClass.HER2_DIRECTED, TherapyClass.HORMONAL, TherapyClass.CDK46,
                        TherapyClass.CHEMOTHERAPY, TherapyClass.OTHER)
_ICI = TherapyClass.IMMUNOTHERAPY  # immune checkpoint inhibitors: RANO-BM's new-lesion exception
# RxNorm codes the mapping reads. The ingredient codes of the systemic regimens come from the one
# table with sources, cds_service/mapping/rxnorm.py (``ingredient(...)``); the others: FIP and
# tests/support/fhir_builders.py DRUGS, the mCODE examples, and public code tables cross-checked where two
# sources agreed; single-source codes are marked (1).
DRUGS: tuple[Drug, ...] = (
    # corticosteroids (FIP: dexamethasone 3264)
    Drug("dexamethasone", None, frozenset({"3264"}), ("decadron",), dex_equivalent_mg=0.75),
    Drug("prednisone", None, frozenset({"8640"}), (), dex_equivalent_mg=5.0),
    Drug("prednisolone", None, frozenset({"8638"}), (), dex_equivalent_mg=5.0),
    Drug("methylprednisolone", None, frozenset({"6902"}), ("medrol", "solu medrol"),
         dex_equivalent_mg=4.0),
    Drug("hydrocortisone", None, frozenset({"5492"}), (), dex_equivalent_mg=20.0),
    Drug("cortisone", None, frozenset(), (), dex_equivalent_mg=25.0),
    Drug("betamethasone", None, frozenset({"1514"}), (), dex_equivalent_mg=0.75),
    # HER2-directed
    Drug("trastuzumab", _H, ingredient("trastuzumab"), ("herceptin",)),
    Drug("pertuzumab", _H, ingredient("pertuzumab"), ("perjeta",)),
    # tucatinib: 2361285 is the ingredient (rxnorm.py); 2361286, which the mCODE extraction
    # tests and our builders use, is read too but never ordered
    Drug("tucatinib", _H, ingredient("tucatinib") | read_only("tucatinib"), ("tukysa",)),
    Drug("lapatinib", _H, ingredient("lapatinib"), ("tykerb", "tyverb")),
    Drug("neratinib", _H, ingredient("neratinib"), ("nerlynx",)),
    Drug("trastuzumab emtansine", _H,
         ingredient("trastuzumab emtansine") | read_only("trastuzumab emtansine"),  # (1)
         ("ado trastuzumab emtansine", "t dm1", "tdm1", "kadcyla")),
    Drug("trastuzumab deruxtecan", _H, ingredient("trastuzumab deruxtecan"),
         ("fam trastuzumab deruxtecan", "t dxd", "tdxd", "enhertu")),
    Drug("margetuximab", _H, frozenset(), ("margenza",)),
    # hormonal
    Drug("letrozole", _HO, frozenset({"72965"}), ("femara",)),
    Drug("anastrozole", _HO, frozenset({"84857"}), ("arimidex",)),
    Drug("exemestane", _HO, frozenset({"258494"}), ("aromasin",)),
    Drug("tamoxifen", _HO, frozenset({"10324"}), ("nolvadex",)),
    Drug("fulvestrant", _HO, frozenset({"282357"}), ("faslodex",)),
    Drug("toremifene", _HO, frozenset({"38409"}), ("fareston",)),
    Drug("elacestrant", _HO, frozenset(), ("orserdu",)),
    Drug("goserelin", _HO, frozenset({"50610"}), ("zoladex",)),
    Drug("leuprolide", _HO, frozenset({"42375"}), ("leuprorelin", "lupron")),
    Drug("megestrol", _HO, frozenset(), ()),
    # CDK4/6 inhibitors
    Drug("palbociclib", _C, ingredient("palbociclib"), ("ibrance",)),
    Drug("ribociclib", _C, frozenset({"1873916"}), ("kisqali",)),
    Drug("abemaciclib", _C, ingredient("abemaciclib"), ("verzenio",)),
    # chemotherapy
    Drug("capecitabine", _CH, ingredient("capecitabine"), ("xeloda",)),
    Drug("temozolomide", _CH, ingredient("temozolomide"), ("temodar", "temodal")),
    Drug("paclitaxel", _CH, frozenset({"56946"}), ("taxol", "abraxane")),
    Drug("docetaxel", _CH, frozenset({"72962"}), ("taxotere",)),
    Drug("cyclophosphamide", _CH, ingredient("cyclophosphamide"), ()),
    Drug("methotrexate", _CH, ingredient("methotrexate"), ()),
    Drug("fluorouracil", _CH, ingredient("fluorouracil"), ("5 fu", "5fu", "5 fluorouracil")),
    Drug("doxorubicin", _CH, frozenset({"3639"}), ("adriamycin",)),
    Drug("epirubicin", _CH, frozenset({"3995"}), ()),
    Drug("eribulin", _CH, frozenset({"1045452", "1045453"}), ("halaven",)),  # (1) each
    Drug("sacituzumab govitecan", _CH, ingredient("sacituzumab govitecan"), ("trodelvy",)),
    Drug("irinotecan", _CH, read_only("irinotecan"), ()),
    Drug("cisplatin", _CH, frozenset({"2555"}), ()),
    Drug("carboplatin", _CH, frozenset({"40048"}), ()),
    Drug("gemcitabine", _CH, frozenset({"12574"}), ()),
    Drug("vinorelbine", _CH, frozenset({"39541"}), ()),
    Drug("ixabepilone", _CH, frozenset({"337523"}), ()),
    Drug("etoposide", _CH, frozenset(), ()),
    Drug("idarubicin", _CH, frozenset({"5650"}), ()),  # mCODE example (Brian L)
    Drug("vincristine", _CH, frozenset({"11202"}), ()),  # mCODE example (Brian L)
    # other anti-cancer drugs (targeted, antiangiogenic, immunotherapy)
    Drug("bevacizumab", _O, ingredient("bevacizumab"), ("avastin",)),
    Drug("olaparib", _O, frozenset({"1597582"}), ("lynparza",)),
    Drug("talazoparib", _O, frozenset(), ("talzenna",)),
    Drug("alpelisib", _O, frozenset(), ("piqray",)),
    Drug("capivasertib", _O, frozenset(), ("truqap",)),
    Drug("everolimus", _O, frozenset({"141704"}), ("afinitor",)),
    # immune checkpoint inhibitors (RANO-BM Table 2: new lesions are not PD on their own); codes
    # for the three without one are not confirmed, so they are matched by name only
    Drug("pembrolizumab", _ICI, frozenset({"1547545"}), ("keytruda",)),
    Drug("atezolizumab", _ICI, frozenset({"1792776"}), ("tecentriq",)),
    Drug("nivolumab", _ICI, frozenset(), ("opdivo",)),
    Drug("ipilimumab", _ICI, frozenset(), ("yervoy",)),
    Drug("durvalumab", _ICI, frozenset(), ("imfinzi",)),
    Drug("gefitinib", _O, frozenset(), ()),  # mCODE example (NSCLC)
)

# Dose-form words that make a steroid product non-systemic (not relevant to brain oedema).
NON_SYSTEMIC_FORM_WORDS = frozenset({
    "topical", "cream", "ointment", "lotion", "gel", "inhal", "inhalant", "inhaler", "inhalation",
    "nasal", "ophthalmic", "otic", "rectal", "enema", "suppository", "shampoo", "foam",
})
# SNOMED routes that are not systemic (topical, respiratory tract, nasal, ophthalmic, otic, rectal),
# as in the FHIR route-codes examples; UNVERIFIED one by one (the dose-form words back them up).
NON_SYSTEMIC_ROUTES = frozenset({"6064005", "447694001", "46713006", "54485002", "10547007",
                                 "37161004"})

# --- What the FHIR queries ask for (cds_service/assessment/queries.py) --------------------------------
# Derived from the tables above so that a code the mapping reads is never missing from the query
# that fetches it. Searched as bare codes (no system): a token without a system matches every
# system, so the aliases the mapping folds (urn:oid:…) are found too; what else matches is harmless
# (the mapping reads only what it knows).
RECEPTOR_SEARCH_CODES = tuple(sorted({*RECEPTOR_RESULT_CODES, *RECEPTOR_PERCENT_CODES}))
OBSERVATION_SEARCH_CODES = (TUMOR_SIZE_CODE, *sorted(DISEASE_STATUS_CODES), KPS_CODE, ECOG_CODE,
                            *RECEPTOR_SEARCH_CODES)
PROCEDURE_SEARCH_CODES = (RT_COURSE_CODE, *BRAIN_SURGERY_CODES)
# The mapping also reads a course or a brain surgery by its profile alone (any code): those are
# searched by the profiles' canonical URLs. A profile sent with a version (`…|4.0.0`) or under
# another base is read by the mapping (suffix match) but may not be found by this search.
MCODE_PROFILE_BASE = "http://hl7.org/fhir/us/mcode/StructureDefinition/"
CODEXRT_PROFILE_BASE = "http://hl7.org/fhir/us/codex-radiation-therapy/StructureDefinition/"
PROCEDURE_SEARCH_PROFILES = (
    MCODE_PROFILE_BASE + RT_COURSE_PROFILE_SUFFIXES[0],
    CODEXRT_PROFILE_BASE + RT_COURSE_PROFILE_SUFFIXES[1],
    MCODE_PROFILE_BASE + SURGERY_PROFILE_SUFFIX,
)
