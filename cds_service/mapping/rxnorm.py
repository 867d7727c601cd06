"""RxNorm ingredient codes of the systemic regimens: the one table, with where each was checked.

The cards order a regimen only when every drug of it has a CONFIRMED ingredient code here; the
mapping reads these codes too (``codes.DRUGS`` takes them from this table). NLM RxNav itself was
not reachable from the build machine, so each code was checked on 2026-12-01 against public
listings that name the code as the drug's RxNorm ingredient; a code is confirmed when at least
``MIN_SOURCES`` independent listings agree. A code with fewer sources stays here (the mapping may
still read it) but is never put on an order: the card lists the regimen and says why it is not
offered as an order.

Sources (public code found with the code-search index on 2026-12-01; none is NLM's own page):
- S1: RxNorm -> SNOMED CT substance crosswalk (``rxNormSnomedMapping``) of a public clinical-trial
  matching app (TypeScript);
- S2: RxNorm ingredient Codings of a public breast-cancer FHIR bundle generator (Python);
- S3: public substance table whose rows say ``source: "NIH RxNav", confidence:
  "exact_ingredient"`` (Diognosis clinical-standards bridge);
- S4: HL7 MOPA IG example ``MedicationRequest/PertuzumabMedRequestPHD`` (mCODE STU4
  cancer-related-medication-request profile);
- S5: mCODE extraction framework medication-filter tests (T-DXd code noted as having "PIN and IN");
- S6: public ``KB_VERIFIED`` RxNorm table of an oncology drug-interaction tool;
- S7: public DOAC drug-interaction tests that look drugs up by RxNorm ingredient code.
"""

from __future__ import annotations

from dataclasses import dataclass

CHECKED_ON = "2026-12-01"
MIN_SOURCES = 2  # independent public listings that must agree before a code goes on an order

S1 = "S1 RxNorm-SNOMED ingredient crosswalk (public trial-matching app)"
S2 = "S2 RxNorm ingredient Codings (public breast-cancer FHIR bundle generator)"
S3 = "S3 substance table 'NIH RxNav, exact_ingredient' (public)"
S4 = "S4 HL7 MOPA IG example MedicationRequest PertuzumabMedRequestPHD"
S5 = "S5 mCODE extraction framework medication-filter tests"
S6 = "S6 KB_VERIFIED RxNorm table (public oncology interaction tool)"
S7 = "S7 DOAC interaction tests by RxNorm ingredient code (public)"


@dataclass(frozen=True)
class IngredientCode:
    drug: str  # the model's generic name (cds_service.model.systemic REGIMENS)
    code: str  # RxNorm ingredient (TTY IN) code
    display: str  # RxNorm ingredient name
    sources: tuple[str, ...]
    checked_on: str = CHECKED_ON

    @property
    def confirmed(self) -> bool:
        return len(self.sources) >= MIN_SOURCES


INGREDIENTS: tuple[IngredientCode, ...] = (
    # HER2-directed (review §5.3)
    IngredientCode("tucatinib", "2361285", "tucatinib", (S2, S3, S6, S7)),
    IngredientCode("trastuzumab", "224905", "trastuzumab", (S1, S2)),
    IngredientCode("trastuzumab deruxtecan", "2267582", "fam-trastuzumab deruxtecan", (S2, S5)),
    IngredientCode("neratinib", "1940643", "neratinib", (S1, S3, S6)),
    IngredientCode("lapatinib", "480167", "lapatinib", (S1, S2, S3)),
    IngredientCode("trastuzumab emtansine", "1371041", "ado-trastuzumab emtansine", (S1, S2)),
    IngredientCode("pertuzumab", "1298944", "pertuzumab", (S1, S2, S4)),
    # CDK4/6 inhibitors (review §5.4)
    IngredientCode("abemaciclib", "1946825", "abemaciclib", (S1, S2)),
    IngredientCode("palbociclib", "1601374", "palbociclib", (S1, S2)),
    # triple-negative (review §5.2): one listing only -> listed, never ordered
    IngredientCode("sacituzumab govitecan", "2360232", "sacituzumab govitecan", (S2,)),
    # any subtype (review §5.1)
    IngredientCode("temozolomide", "37776", "temozolomide", (S1, S3)),
    IngredientCode("capecitabine", "194000", "capecitabine", (S1, S3)),
    IngredientCode("cyclophosphamide", "3002", "cyclophosphamide", (S1, S2)),
    IngredientCode("methotrexate", "6851", "methotrexate", (S1, S2, S3)),
    IngredientCode("fluorouracil", "4492", "fluorouracil", (S1, S2, S3)),
    IngredientCode("bevacizumab", "253337", "bevacizumab", (S1, S7)),
)

BY_DRUG: dict[str, IngredientCode] = {c.drug: c for c in INGREDIENTS}


def ingredient(drug: str) -> frozenset[str]:
    """The table's code of `drug` as a set, for the mapping's code table."""
    return frozenset({BY_DRUG[drug].code})


def orderable_code(drug: str) -> IngredientCode | None:
    """The confirmed ingredient code of `drug`; None when it has none (never ordered then)."""
    code = BY_DRUG.get(drug)
    return code if code is not None and code.confirmed else None


# --- Codes read, never ordered -------------------------------------------------------------------
# Other RxNorm codes the mapping reads for a drug of the regimens (codes.DRUGS), besides the
# ingredient code above: read, never put on an order (orders carry the confirmed ingredient codes
# only). The terminology table (terminology.RXNORM_READ_ONLY) lists them from here.
MCODE_EXTRACTION = "mCODE extraction framework tests and cancer-type tables (public)"
PUBLIC_LISTING = "public FHIR resource / value-set JSON listing the code with this meaning"


@dataclass(frozen=True)
class ReadOnlyCode:
    drug: str  # the model's generic name
    code: str
    display: str
    sources: tuple[str, ...]
    note: str = ""  # why it is not the ingredient code, or why unconfirmed


READ_ONLY: tuple[ReadOnlyCode, ...] = (
    ReadOnlyCode("tucatinib", "2361286",
                 "tucatinib (code of the mCODE extraction 'tucatinib' filter)",
                 (MCODE_EXTRACTION,), "UNCONFIRMED: one listing; the ingredient is 2361285"),
    ReadOnlyCode("trastuzumab emtansine", "1371046", "Kadcyla (ado-trastuzumab emtansine, brand)",
                 (MCODE_EXTRACTION, "public FSH MedicationRequest example coding it 'KADCYLA'")),
    ReadOnlyCode("irinotecan", "51499", "irinotecan (ingredient)", (PUBLIC_LISTING,),
                 "UNCONFIRMED: one listing gives irinotecan IN, another test table cisplatin; "
                 "only in the investigational iniparib regimen, never ordered"),
)


def read_only(drug: str) -> frozenset[str]:
    """The codes of `drug` the mapping reads but never orders (empty when it has none)."""
    return frozenset(c.code for c in READ_ONLY if c.drug == drug)
