"""Evidence registry: the references of the review that the salvage model cites.

Parsed by hand from the reference list of Spalek & Mandat, *Cancers* 2022;14:1096 (the review,
CC BY 4.0); numbers are the review's own, so "[40]" on a card is reference 40 of the review.
Bibliographic fields are copied as the review prints them (author spellings included). The review's
reference list links each item only as "CrossRef" without printing a DOI, so a ``doi`` is filled
only where a stored public record of that paper (PubMed, PubMed Central, the publisher, a library
catalogue) states it and its title, journal and year (or volume and pages) match the review's entry; each one's source
address and date checked are in ``evidence_dois.md`` beside this module (`DOI_PROVENANCE`), where a
row read from a third party's copy of such a record is marked "third-party copy", and a DOI without
a row there fails the tests. Every other ``doi`` is ``None``: never guessed, because a
wrong DOI link sends a clinician to the wrong paper. Reference 75 is a web page and carries its
``url``. ``study_type`` and ``size`` are filled only where the review's text states them, in the
review's words; ``None`` means the review does not say. Every option, warning, GPA and order
finding cites references through `cite()`, which refuses a number this registry does not hold.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

REVIEW_CITATION = (
    "Spalek MJ, Mandat T. Salvage Treatment for Progressive Brain Metastases in Breast Cancer. "
    "Cancers 2022;14:1096."
)
REVIEW_DOI = "10.3390/cancers14041096"  # printed in the review's citation line
# Where each reference's DOI was read (number, DOI, source address, date checked): the DOIs below
# are copied from this table, never from memory.
DOI_PROVENANCE = Path(__file__).with_name("evidence_dois.md")


@dataclass(frozen=True)
class Reference:
    number: int
    authors: tuple[str, ...]  # as printed, "Lastname, I." (the review lists up to 10, then et al.)
    et_al: bool
    title: str
    journal: str
    year: int | None
    volume: str | None
    pages: str | None
    doi: str | None = None
    url: str | None = None
    study_type: str | None = None  # as the review states it; None when it does not
    size: str | None = None  # patients / lesions / studies, as the review states them
    used_for: str | None = None  # what the salvage model cites it for

    def short(self) -> str:
        """"Shaw E et al. Int. J. Radiat. Oncol. 2000" - for one-line display."""
        if not self.authors:
            return f"{self.title}. {self.journal}"
        first = self.authors[0].split(",")[0]
        more = " et al." if self.et_al or len(self.authors) > 1 else ""
        return f"{first}{more} {self.journal} {self.year}"

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number, "authors": list(self.authors), "et_al": self.et_al,
            "title": self.title, "journal": self.journal, "year": self.year,
            "volume": self.volume, "pages": self.pages, "doi": self.doi, "url": self.url,
            "study_type": self.study_type, "size": self.size, "used_for": self.used_for,
        }


def _r(number: int, authors: tuple[str, ...], et_al: bool, title: str, journal: str,
       year: int | None, volume: str | None, pages: str | None, url: str | None = None,
       doi: str | None = None) -> Reference:
    return Reference(number, authors, et_al, title, journal, year, volume, pages, doi=doi, url=url)


_BIBLIOGRAPHY = (
    _r(1, ('Lin, N.U.', 'Bellon, J.R.', 'Winer, E.P.'), False,
       'CNS Metastases in Breast Cancer',
       'J. Clin. Oncol.', 2004, '22', '3608–3617'),
    _r(2, ('Gabos, Z.', 'Sinha, R.', 'Hanson, J.', 'Chauhan, N.', 'Hugh, J.', 'Mackey, J.R.', 'Abdulkarim, B.'), False,
       'Prognostic Significance of Human Epidermal Growth Factor Receptor Positivity for the Development of Brain Metastasis After Newly Diagnosed Breast Cancer',
       'J. Clin. Oncol.', 2006, '24', '5658–5663'),
    _r(3, ('Tham, Y.-L.', 'Sexton, K.', 'Kramer, R.', 'Hilsenbeck, S.', 'Elledge, R.'), False,
       'Primary breast cancer phenotypes associated with propensity for central nervous system metastases',
       'Cancer', 2006, '107', '696–704'),
    _r(4, ('Pestalozzi, B.C.', 'Zahrieh, D.', 'Price, K.N.', 'Holmberg, S.B.', 'Lindtner, J.', 'Collins, J.', 'Crivellari, D.', 'Fey, M.F.', 'Murray, E.', 'Pagani, O.'), True,
       'Identifying breast cancer patients at risk for Central Nervous System (CNS) metastases in trials of the International Breast Cancer Study Group (IBCSG)',
       'Ann. Oncol.', 2006, '17', '935–944',
       doi='10.1093/annonc/mdl064'),
    _r(5, ('Nam, B.-H.', 'Kim, S.Y.', 'Han, H.-S.', 'Kwon, Y.', 'Lee, K.S.', 'Kim, T.H.', 'Ro, J.'), False,
       'Breast cancer subtypes and survival in patients with brain metastases',
       'Breast Cancer Res.', 2008, '10', 'R20',
       doi='10.1186/bcr1870'),
    _r(6, ('Kuksis, M.', 'Gao, Y.', 'Tran, W.', 'Hoey, C.', 'Kiss, A.', 'Komorowski, A.S.', 'Dhaliwal, A.J.', 'Sahgal, A.', 'Das, S.', 'Chan, K.K.'), True,
       'The incidence of brain metastases among patients with metastatic breast cancer: A systematic review and meta-analysis',
       'Neuro-Oncology', 2020, '23', '894–904',
       doi='10.1093/neuonc/noaa285'),
    _r(7, ('Frisk, G.', 'Tinge, B.', 'Ekberg, S.', 'Eloranta, S.', 'Bäcklund, L.M.', 'Lidbrink, E.', 'Smedby, K.E.'), False,
       'Survival and level of care among breast cancer patients with brain metastases treated with whole brain radiotherapy',
       'Breast Cancer Res. Treat.', 2017, '166', '887–896',
       doi='10.1007/s10549-017-4466-3'),
    _r(8, ('Tallet, A.V.', 'Azria, D.', 'Barlesi, F.', 'Spano, J.-P.', 'Carpentier, A.F.', 'Gonçalves, A.', 'Metellus, P.'), False,
       'Neurocognitive function impairment after whole brain radiotherapy for brain metastases: Actual assessment',
       'Radiat. Oncol.', 2012, '7', '77',
       doi='10.1186/1748-717X-7-77'),
    _r(9, ('Chang, E.L.', 'Wefel, J.S.', 'Hess, K.R.', 'Allen, P.K.', 'Lang, F.F.', 'Kornguth, D.G.', 'Arbuckle, R.B.', 'Swint, J.M.', 'Shiu, A.S.', 'Maor, M.H.'), True,
       'Neurocognition in patients with brain metastases treated with radiosurgery or radiosurgery plus whole-brain irradiation: A randomised controlled trial',
       'Lancet Oncol.', 2009, '10', '1037–1044',
       doi='10.1016/S1470-2045(09)70263-3'),
    _r(10, ('Halasz, L.M.', 'Uno, H.', 'Hughes, M.', 'D’Amico, T.', 'Dexter, E.U.', 'Edge, S.B.', 'Hayman, J.A.', 'Niland, J.C.', 'Otterson, G.A.', 'Pisters, K.M.W.'), True,
       'Comparative effectiveness of stereotactic radiosurgery versus whole-brain radiation therapy for patients with brain metastases from breast or non-small cell lung cancer',
       'Cancer', 2016, '122', '2091–2100',
       doi='10.1002/cncr.30009'),
    _r(11, ('Kraft, J.', 'van Timmeren, J.E.', 'Mayinger, M.', 'Frei, S.', 'Borsky, K.', 'Stark, L.S.', 'Krayenbuehl, J.', 'Zamburlini, M.', 'Guckenberger, M.', 'Tanadini-Lang, S.'), True,
       'Distance to isocenter is not associated with an increased risk for local failure in LINAC-based single-isocenter SRS or SRT for multiple brain metastases',
       'Radiother. Oncol.', 2021, '159', '168–175'),
    _r(12, ('Lin, N.U.', 'Amiri-Kordestani, L.', 'Palmieri, D.', 'Liewehr, D.J.', 'Steeg, P.S.'), False,
       'CNS Metastases in Breast Cancer: Old Challenge, New Frontiers',
       'Clin. Cancer Res.', 2013, '19', '6404–6418'),
    _r(13, ('Lin, X.', 'DeAngelis, L.M.'), False,
       'Treatment of Brain Metastases',
       'J. Clin. Oncol.', 2015, '33', '3475–3484'),
    _r(14, ('Shaw, E.', 'Scott, C.', 'Souhami, L.', 'Dinapoli, R.', 'Kline, R.', 'Loeffler, J.', 'Farnan, N.'), False,
       'Single dose radiosurgical treatment of recurrent previously irradiated primary brain tumors and brain metastases: Final report of RTOG protocol 90-05',
       'Int. J. Radiat. Oncol.', 2000, '47', '291–298'),
    _r(15, ('Lehrer, E.J.', 'Peterson, J.L.', 'Zaorsky, N.G.', 'Brown, P.D.', 'Sahgal, A.', 'Chiang, V.L.', 'Chao, S.T.', 'Sheehan, J.P.', 'Trifiletti, D.M.'), False,
       'Single versus Multifraction Stereotactic Radiosurgery for Large Brain Metastases: An International Meta-analysis of 24 Trials',
       'Int. J. Radiat. Oncol.', 2018, '103', '618–630'),
    _r(16, ('Trifiletti, D.M.', 'Ballman, K.V.', 'Brown, P.D.', 'Anderson, S.K.', 'Carrero, X.W.', 'Cerhan, J.H.', 'Whitton, A.C.', 'Greenspoon, J.', 'Parney, I.F.', 'Laack, N.N.'), True,
       'Optimizing Whole Brain Radiation Therapy Dose and Fractionation: Results From a Prospective Phase 3 Trial (NCCTG N107C [Alliance]/CEC.3)',
       'Int. J. Radiat. Oncol.', 2019, '106', '255–260'),
    _r(17, ('Lin, N.U.', 'Lee, E.Q.', 'Aoyama, H.', 'Barani, I.J.', 'Barboriak, D.P.', 'Baumert, B.G.', 'Bendszus, M.', 'Brown, P.D.', 'Camidge, D.R.', 'Chang, S.M.'), True,
       'Response assessment criteria for brain metastases: Proposal from the RANO group',
       'Lancet Oncol.', 2015, '16', 'e270–e278',
       doi='10.1016/S1470-2045(15)70057-4'),
    _r(18, ('Schwartz, L.H.', 'Litière, S.', 'de Vries, E.', 'Ford, R.', 'Gwyther, S.', 'Mandrekar, S.', 'Shankar, L.', 'Bogaerts, J.', 'Chen, A.', 'Dancey, J.'), True,
       'RECIST 1.1—Update and clarification: From the RECIST committee',
       'Eur. J. Cancer', 2016, '62', '132–137'),
    _r(19, ('Peterson, A.M.', 'Meltzer, C.C.', 'Evanson, E.J.', 'Flickinger, J.C.', 'Kondziolka, D.'), False,
       'MR Imaging Response of Brain Metastases after Gamma Knife Stereotactic Radiosurgery',
       'Radiology', 1999, '211', '807–814',
       doi='10.1148/radiology.211.3.r99jn48807'),
    _r(20, ('E Huber, P.', 'Hawighorst, H.', 'Fuss, M.', 'van Kaick, G.', 'Wannemacher, M.F.', 'Debus, J.'), False,
       'Transient enlargement of contrast uptake on MRI after linear accelerator (linac) stereotactic radiosurgery for brain metastases',
       'Int. J. Radiat. Oncol.', 2001, '49', '1339–1349',
       doi='10.1016/s0360-3016(00)01511-x'),
    _r(21, ('Ross, D.A.', 'Sandler, H.M.', 'Balter, J.M.', 'Hayman, J.A.', 'Archer, P.G.', 'Auer, D.L.'), False,
       'Imaging changes after stereotactic radiosurgery of primary and secondary malignant brain tumors',
       'J. Neuro-Oncology', 2002, '56', '175–181'),
    _r(22, ('Varlotto, J.M.', 'Flickinger, J.', 'Niranjan, A.', 'Bhatnagar, A.K.', 'Kondziolka, D.', 'Lunsford, L.'), False,
       'Analysis of tumor control and toxicity in patients who have survived at least one year after radiosurgery for brain metastases',
       'Int. J. Radiat. Oncol.', 2003, '57', '452–464'),
    _r(23, ('Nichelli, L.', 'Casagrande, S.'), False,
       'Current emerging MRI tools for radionecrosis and pseudoprogression diagnosis',
       'Curr. Opin. Oncol.', 2021, '33', '597–607'),
    _r(24, ('Liu, Z.-C.', 'Yan, L.-F.', 'Hu, Y.-C.', 'Sun, Y.-Z.', 'Tian, Q.', 'Nan, H.-Y.', 'Yu, Y.', 'Sun, Q.', 'Wang, W.', 'Cui, G.-B.'), False,
       'Combination of IVIM-DWI and 3D-ASL for differentiating true progression from pseudoprogression of Glioblastoma multiforme after concurrent chemoradiotherapy: Study protocol of a prospective diagnostic trial',
       'BMC Med Imaging', 2017, '17', '10',
       doi='10.1186/s12880-017-0183-y'),
    _r(25, ('Chao, S.T.', 'Suh, J.H.', 'Raja, S.', 'Lee, S.-Y.', 'Barnett, G.'), False,
       'The sensitivity and specificity of FDG PET in distinguishing recurrent brain tumor from radionecrosis in patients treated with stereotactic radiosurgery',
       'Int. J. Cancer', 2001, '96', '191–197'),
    _r(26, ('Henry, R.G.', 'Vigneron, D.B.', 'Fischbein, N.J.', 'Grant, P.E.', 'Day, M.R.', 'Noworolski, S.M.', 'Star-Lack, J.M.', 'Wald, L.L.', 'Dillon, W.P.', 'Chang, S.M.'), True,
       'Comparison of Relative Cerebral Blood Volume and Proton Spectroscopy in Patients with Treated Gliomas',
       'Am. J. Neuroradiol.', 2000, '21', '357–366'),
    _r(27, ('Serizawa, T.', 'Saeki, N.', 'Higuchi, Y.', 'Ono, J.', 'Matsuda, S.', 'Sato, M.', 'Yanagisawa, M.', 'Iuchi, T.', 'Nagano, O.', 'Yamaura, A.'), False,
       'Diagnostic value of thallium-201 chloride single-photon emission computerized tomography in differentiating tumor recurrence from radiation injury after gamma knife surgery for metastatic brain tumors',
       'J. Neurosurg.', 2005, '102', '266–271'),
    _r(28, ('Sugahara, T.', 'Korogi, Y.', 'Tomiguchi, S.', 'Shigematsu, Y.', 'Ikushima, I.', 'Kira, T.', 'Liang, L.', 'Ushio, Y.', 'Takahashi, M.'), False,
       'Posttherapeutic Intraaxial Brain Tumor: The Value of Perfusion-sensitive Contrast-enhanced MR Imaging for Differentiating Tumor Recurrence from Nonneoplastic Contrast-enhancing Tissue',
       'Am. J. Neuroradiol.', 2000, '21', '901–909'),
    _r(29, ('Hoefnagels, F.W.A.', 'Lagerwaard, F.J.', 'Sanchez, E.', 'Haasbeek, C.J.A.', 'Knol, D.L.', 'Slotman, B.J.', 'Vandertop, W.P.'), False,
       'Radiological progression of cerebral metastases after radiosurgery: Assessment of perfusion MRI for differentiating between necrosis and recurrence',
       'J. Neurol.', 2009, '256', '878–887',
       doi='10.1007/s00415-009-5034-5'),
    _r(30, ('Combs, S.E.', 'Schulz-Ertner, D.', 'Thilmann, C.', 'Edler, L.', 'Debus, J.'), False,
       'Treatment of Cerebral Metastases from Breast Cancer with Stereotactic Radiosurgery',
       'Strahlenther. und Onkol.', 2004, '180', '590–596'),
    _r(31, ('Akyurek, S.', 'Chang, E.L.', 'Mahajan, A.', 'Hassenbusch, S.J.', 'Allen, P.K.', 'Mathews, L.A.', 'Shiu, A.S.', 'Maor, M.H.', 'Woo, S.Y.'), False,
       'Stereotactic Radiosurgical Treatment of Cerebral Metastases Arising From Breast Cancer',
       'Am. J. Clin. Oncol.', 2007, '30', '310–314'),
    _r(32, ('Kased, N.', 'Binder, D.K.', 'McDermott, M.W.', 'Nakamura, J.L.', 'Huang, K.', 'Berger, M.S.', 'Wara, W.M.', 'Sneed, P.K.'), False,
       'Gamma Knife Radiosurgery for Brain Metastases From Primary Breast Cancer',
       'Int. J. Radiat. Oncol.', 2009, '75', '1132–1140'),
    _r(33, ('Kelly, P.J.', 'Lin, N.U.', 'Claus, E.B.', 'Quant, E.C.', 'Weiss, S.E.', 'Alexander, B.M.'), False,
       'Salvage stereotactic radiosurgery for breast cancer brain metastases',
       'Cancer', 2011, '118', '2014–2020'),
    _r(34, ('Huang, Z.', 'Sun, B.', 'Shen, G.', 'Cha, L.', 'Meng, X.', 'Wang, J.', 'Zhou, Z.', 'Wu, S.'), False,
       'Brain metastasis reirradiation in patients with advanced breast cancer',
       'J. Radiat. Res.', 2017, '58', '142–148'),
    _r(35, ('Lai, S.', 'Huang, C.', 'Wang, C.', 'Chen, Y.', 'Lan, K.', 'Cheng, A.', 'Kuo, S.'), False,
       'Brain Re-irradiation for Breast Cancer Patients With Brain Metastasis After Whole Brain Radiation Therapy: Effect of Epidermal Growth Factor Receptor-2 Status on Clinical Outcome',
       'Int. J. Radiat. Oncol.', 2013, '87', 'S243'),
    _r(36, ('Perez, J.L.', 'Ozpinar, A.', 'Kano, H.', 'Phan, B.', 'Niranjan, A.', 'Lunsford, L.D.'), False,
       'Salvage Stereotactic Radiosurgery in Breast Cancer Patients with Multiple Brain Metastases',
       'World Neurosurg.', 2019, '125', 'e479–e486'),
    _r(37, ('Kano, H.', 'Kondziolka, D.', 'Zorro, O.', 'Lobato-Polo, J.', 'Flickinger, J.', 'Lunsford, L.D.'), False,
       'The results of resection after stereotactic radiosurgery for brain metastases',
       'J. Neurosurg.', 2009, '111', '825–831'),
    _r(38, ('Truong, M.T.', 'Clair, E.G.S.', 'Donahue, B.R.', 'Rush, S.C.', 'Miller, D.C.', 'Formenti, S.C.', 'Knopp, E.A.', 'Han, K.', 'Golfinos, J.G.'), False,
       'Results of Surgical Resection for Progression of Brain Metastases Previously Treated by Gamma Knife Radiosurgery',
       'Neurosurgery', 2006, '59', '86–97'),
    _r(39, ('Mitsuya, K.', 'Nakasu, Y.', 'Hayashi, N.', 'Deguchi, S.', 'Oishi, T.', 'Sugino, T.', 'Yasui, K.', 'Ogawa, H.', 'Onoe, T.', 'Asakura, H.'), True,
       'Retrospective analysis of salvage surgery for local progression of brain metastasis previously treated with stereotactic irradiation: Diagnostic contribution, functional outcome, and prognostic factors',
       'BMC Cancer', 2020, '20', '331',
       doi='10.1186/s12885-020-06800-w'),
    _r(40, ('McKay, W.H.', 'McTyre, E.R.', 'Okoukoni, C.', 'Alphonse-Sullivan, N.K.', 'Ruiz, J.', 'Munley, M.T.', 'Qasem, S.', 'Lo, H.-W.', 'Xing, F.', 'Laxton, A.W.'), True,
       'Repeat stereotactic radiosurgery as salvage therapy for locally recurrent brain metastases previously treated with radiosurgery',
       'J. Neurosurg.', 2017, '127', '148–156'),
    _r(41, ('Rana, N.', 'Pendyala, P.', 'Cleary, R.K.', 'Luo, G.', 'Zhao, Z.', 'Chambless, L.B.', 'Cmelak, A.J.', 'Attia, A.', 'Stavas, M.J.'), False,
       'Long-term Outcomes after Salvage Stereotactic Radiosurgery (SRS) following In-Field Failure of Initial SRS for Brain Metastases',
       'Front. Oncol.', 2017, '7', '279',
       doi='10.3389/fonc.2017.00279'),
    _r(42, ('Lucia, F.', 'Touati, R.', 'Crainic, N.', 'Dissaux, G.', 'Pradier, O.', 'Bourbonne, V.', 'Schick, U.'), False,
       'Efficacy and Safety of a Second Course of Stereotactic Radiation Therapy for Locally Recurrent Brain Metastases: A Systematic Review',
       'Cancers', 2021, '13', '4929',
       doi='10.3390/cancers13194929'),
    _r(43, ('Scorsetti, M.', 'Navarria, P.', 'Ascolese, A.', 'Clerici, E.', 'Mancosu, P.', 'Picozzi, P.', 'Pecchioli, G.', 'Franzese, C.', 'Reggiori, G.', 'Tomatis, S.'), False,
       'OS03.4 Gammaknife versus Linac based (EDGE) radiosurgery (SRS) for patients with limited brain metastases (BMS) from different solid tumor: A phase III randomized trial',
       'Neuro-Oncology', 2017, '19', 'iii5–iii6'),
    _r(44, ('Aoki, K.', 'Nagatani, Y.', 'Noma, K.', 'Tsugawa, T.', 'Kono, N.', 'Kida, Y.', 'Harada, N.', 'Tanoue, Y.', 'Watanabe, Y.'), False,
       'Effective Control of Brain Metastases Irrespective of Distance from Isocenter in Single-isocenter Multitarget Stereotactic Radiosurgery',
       'Anticancer Res.', 2021, '41', '2575–2581'),
    _r(45, ('Valenciaga, Y.', 'Chang, J.', 'Schulner, M.'), False,
       'Evaluating the Use of Combined Gamma Knife/Linac Stereotactic Radiosurgery (SRS) Treatments in Patients with 10 or More Brain Metastases',
       'Int. J. Radiat. Oncol.', 2018, '102', 'e520'),
    _r(46, ('Sebastian, N.T.', 'Glenn, C.', 'Hughes, R.', 'Raval, R.', 'Chu, J.', 'DiCostanzo, D.', 'Bell, E.H.', 'Grecula, J.', 'Arnett, A.', 'Gondal, H.'), True,
       'Linear accelerator-based radiosurgery is associated with lower incidence of radionecrosis compared with gamma knife for treatment of multiple brain metastases',
       'Radiother. Oncol.', 2020, '147', '136–143'),
    _r(47, ('Schödel, P.', 'Jünger, S.T.', 'Wittersheim, M.', 'Reinhardt, H.C.', 'Schmidt, N.', 'Goldbrunner, R.', 'Proescholdt, M.', 'Grau, S.'), False,
       'Surgical resection of symptomatic brain metastases improves the clinical status and facilitates further treatment',
       'Cancer Med.', 2020, '9', '7503–7510'),
    _r(48, ('Hong, N.', 'Yoo, H.', 'Gwak, H.S.', 'Shin, S.H.', 'Lee, S.H.'), False,
       'Outcome of Surgical Resection of Symptomatic Cerebral Lesions in Non-Small Cell Lung Cancer Patients with Multiple Brain Metastases',
       'Brain Tumor Res. Treat.', 2013, '1', '64–70',
       doi='10.14791/btrt.2013.1.2.64'),
    _r(49, ('Guo, S.', 'Reddy, C.', 'Chao, S.', 'Suh, J.'), False,
       'Repeat Whole Brain Irradiation for Patients with Brain Metastases',
       'Int. J. Radiat. Oncol.', 2011, '81', 'S645'),
    _r(50, ('Mittica, G.', 'Senetta, R.', 'Richiardi, L.', 'Rudà, R.', 'Coda, R.', 'Castellano, I.', 'Sapino, A.', 'Cassoni, P.'), False,
       'Meningeal carcinomatosis underdiagnosis and overestimation: Incidence in a large consecutive and unselected population of breast cancer patients',
       'BMC Cancer', 2015, '15', '1021',
       doi='10.1186/s12885-015-2042-y'),
    _r(51, ('Brower, J.V.', 'Saha, S.', 'Rosenberg, S.A.', 'Hullett, C.R.', 'Robins, H.I.'), False,
       'Management of leptomeningeal metastases: Prognostic factors and associated outcomes',
       'J. Clin. Neurosci.', 2016, '27', '130–137',
       doi='10.1016/j.jocn.2015.11.012'),
    _r(52, ('Gani, C.', 'Müller, A.-C.', 'Eckert, F.', 'Schroeder, C.', 'Bender, B.', 'Pantazis, G.', 'Bamberg, M.', 'Berger, B.'), False,
       'Outcome after whole brain radiotherapy alone in intracranial leptomeningeal carcinomatosis from solid tumors',
       'Strahlenther. Onkol.', 2012, '188', '148–153',
       doi='10.1007/s00066-011-0025-8'),
    _r(53, ('Wolf, A.', 'Donahue, B.', 'Silverman, J.', 'Chachoua, A.', 'Lee, J.K.', 'Kondziolka, D.'), False,
       'Stereotactic radiosurgery for focal leptomeningeal disease in patients with brain metastases',
       'J. Neuro-Oncology', 2017, '134', '139–143'),
    _r(54, ('Yamamoto, M.', 'Serizawa, T.', 'Shuto, T.', 'Akabane, A.', 'Higuchi, Y.', 'Kawagishi, J.', 'Yamanaka, K.', 'Sato, Y.', 'Jokura, H.', 'Yomo, S.'), True,
       'Stereotactic radiosurgery for patients with multiple brain metastases (JLGK0901): A multi-institutional prospective observational study',
       'Lancet Oncol.', 2014, '15', '387–395'),
    _r(55, ('Yamamoto, M.', 'Kawabe, T.', 'Sato, Y.', 'Higuchi, Y.', 'Nariyai, T.', 'Watanabe, S.', 'Kasuya, H.'), False,
       'Stereotactic radiosurgery for patients with multiple brain metastases: A case-matched study comparing treatment results for patients with 2–9 versus 10 or more tumors',
       'J. Neurosurg.', 2014, '121', '16–25'),
    _r(56, ('Haque, W.', 'Verma, V.', 'Adeberg, S.', 'Rustomily, R.', 'Lo, S.', 'Butler, E.B.', 'Teh, B.S.'), False,
       'Outcomes following stereotactic radiosurgery or whole brain radiation therapy by molecular subtype of metastatic breast cancer',
       'Rep. Pr. Oncol. Radiother.', 2021, '26', '341–351'),
    _r(57, ('Sperduto, P.W.', 'Mesko, S.', 'Li, J.', 'Cagney, D.', 'Aizer, A.', 'Lin, N.U.', 'Nesbit, E.', 'Kruser, T.J.', 'Chan, J.', 'Braunstein, S.'), True,
       'Beyond an Updated Graded Prognostic Assessment (Breast GPA): A Prognostic Index and Trends in Treatment and Survival in Breast Cancer Brain Metastases From 1985 to Today',
       'Int. J. Radiat. Oncol.', 2020, '107', '334–343'),
    _r(58, ('Stewart, D.J.',), False,
       'A critique of the role of the blood-brain barrier in the chemotherapy of human brain tumors',
       'J. Neuro-Oncology', 1994, '20', '121–139'),
    _r(59, ('Rosner, D.', 'Nemoto, T.', 'Lane, W.W.'), False,
       'Chemotherapy induces regression of brain metastases in breast carcinoma',
       'Cancer', 1986, '58', '832–839'),
    _r(60, ('Boogerd, W.', 'Dalesio, O.', 'Bais, E.M.', 'Van Der Sande, J.J.'), False,
       'Response of brain metastases from breast cancer to systemic chemotherapy',
       'Cancer', 1992, '69', '972–980'),
    _r(61, ('Zhu, W.', 'Zhou, L.', 'Qian, J.-Q.', 'Qiu, T.-Z.', 'Shu, Y.-Q.', 'Liu, P.'), False,
       'Temozolomide for treatment of brain metastases: A review of 21 clinical trials',
       'World J. Clin. Oncol.', 2014, '5', '19–27',
       doi='10.5306/wjco.v5.i1.19'),
    _r(62, ('Christodoulou, C.', 'Bafaloukos, D.', 'Linardou, H.', 'Aravantinos, G.', 'Bamias, A.', 'Carina, M.', 'Klouvas, G.', 'Skarlos, D.'), False,
       'Temozolomide (TMZ) combined with cisplatin (CDDP) in patients with brain metastases from solid tumors: A Hellenic Cooperative Oncology Group (HeCOG) Phase II study',
       'J. Neuro-Oncology', 2005, '71', '61–65'),
    _r(63, ('Rivera, E.', 'Meyers, C.', 'Groves, M.', 'Valero, V.', 'Rn, D.F.', 'Arun, B.', 'Ms, K.B.', 'Yin, G.', 'Hortobagyi, G.N.', 'Buchholz, T.'), False,
       'Phase I study of capecitabine in combination with temozolomide in the treatment of patients with brain metastases from breast carcinoma',
       'Cancer', 2006, '107', '1348–1354',
       doi='10.1002/cncr.22127'),
    _r(64, ('Berghoff, A.S.', 'Sax, C.', 'Klein, M.', 'Furtner, J.', 'Dieckmann, K.', 'Gatterbauer, B.', 'Widhalm, G.', 'Rudas, M.', 'Zielinski, C.C.', 'Bartsch, R.'), True,
       'Alleviation of brain edema and restoration of functional independence by bevacizumab in brain-metastatic breast cancer: A case report',
       'Breast Care', 2014, '9', '134–136'),
    _r(65, ('Berghoff, A.S.', 'Breckwoldt, M.O.', 'Riedemann, L.', 'Karimian-Jazi, K.', 'Loew, S.', 'Schlieter, F.', 'Furtner, J.', 'Cinci, M.', 'Thomas, M.', 'Strowitzki, M.J.'), True,
       'Bevacizumab-based treatment as salvage therapy in patients with recurrent symptomatic brain metastases',
       'Neuro-Oncology Adv.', 2020, '2', 'vdaa038'),
    _r(66, ('Bardia, A.', 'Hurvitz, S.A.', 'Tolaney, S.M.', 'Loirat, D.', 'Punie, K.', 'Oliveira, M.', 'Brufsky, A.', 'Sardesai, S.D.', 'Kalinsky, K.', 'Zelnak, A.B.'), True,
       'Sacituzumab Govitecan in Metastatic Triple-Negative Breast Cancer',
       'New Engl. J. Med.', 2021, '384', '1529–1541',
       doi='10.1056/NEJMoa2028485'),
    _r(67, ('Brenner, A.', 'Pandey, R.', 'Chiou, J.', 'Floyd, J.', 'Garcia, M.', 'Surapaneni, P.', 'Kaklamani, V.', 'Lathrop, K.', 'Crownover, R.', 'Caron, J.'), True,
       '373MO Delivery and activity of SN-38 by sacituzumab govitecan in CNS tumours',
       'Ann. Oncol.', 2020, '31', 'S401'),
    _r(68, ('Anders, C.', 'Deal, A.M.', 'Abramson, V.', 'Liu, M.C.', 'Storniolo, A.M.', 'Carpenter, J.T.', 'Puhalla, S.', 'Nanda, R.', 'Melhem-Bertrandt, A.', 'Lin, N.U.'), True,
       'TBCRC 018: Phase II study of iniparib in combination with irinotecan to treat progressive triple negative breast cancer brain metastases',
       'Breast Cancer Res. Treat.', 2014, '146', '557–566',
       doi='10.1007/s10549-014-3039-y'),
    _r(69, ('Zhang, T.', 'Lip, H.', 'He, C.', 'Cai, P.', 'Wang, Z.', 'Henderson, J.T.', 'Rauth, A.M.', 'Wu, X.Y.'), False,
       'Multitargeted Nanoparticles Deliver Synergistic Drugs across the Blood–Brain Barrier to Brain Metastases of Triple Negative Breast Cancer Cells and Tumor-Associated Macrophages',
       'Adv. Health Mater.', 2019, '8', '1900543'),
    _r(70, ('Lin, N.U.', 'Borges, V.', 'Anders, C.', 'Murthy, R.K.', 'Paplomata, E.', 'Hamilton, E.', 'Hurvitz, S.', 'Loi, S.', 'Okines, A.', 'Abramson, V.'), True,
       'Intracranial Efficacy and Survival With Tucatinib Plus Trastuzumab and Capecitabine for Previously Treated HER2-Positive Breast Cancer With Brain Metastases in the HER2CLIMB Trial',
       'J. Clin. Oncol.', 2020, '38', '2610–2619',
       doi='10.1200/JCO.20.00775'),
    _r(71, ('Lin, N.U.', 'Diéras, V.', 'Paul, D.', 'Lossignol, D.', 'Christodoulou, C.', 'Stemmler, H.-J.', 'Roché, H.', 'Liu, C.M.H.', 'Greil, R.', 'Ciruelos, E.'), True,
       'Multicenter Phase II Study of Lapatinib in Patients with Brain Metastases from HER2-Positive Breast Cancer',
       'Clin. Cancer Res.', 2009, '15', '1452–1459'),
    _r(72, ('Morikawa, A.', 'De Stanchina, E.', 'Pentsova, E.', 'Kemeny, M.M.', 'Li, B.T.', 'Tang, K.', 'Patil, S.', 'Fleisher, M.', 'Van Poznak, C.', 'Norton, L.'), True,
       'Phase I Study of Intermittent High-Dose Lapatinib Alternating with Capecitabine for HER2-Positive Breast Cancer Patients with Central Nervous System Metastases',
       'Clin. Cancer Res.', 2019, '25', '3784–3792',
       doi='10.1158/1078-0432.CCR-18-3502'),
    _r(73, ('Freedman, R.A.', 'Gelman, R.S.', 'Anders, C.K.', 'Melisko, M.E.', 'Parsons, H.A.', 'Cropp, A.M.', 'Silvestri, K.', 'Cotter, C.M.', 'Componeschi, K.P.', 'Marte, J.M.'), True,
       'TBCRC 022: A Phase II Trial of Neratinib and Capecitabine for Patients With Human Epidermal Growth Factor Receptor 2-Positive Breast Cancer and Brain Metastases',
       'J. Clin. Oncol.', 2019, '37', '1081–1089',
       doi='10.1200/JCO.18.01511'),
    _r(74, ('Montemurro, F.', 'Delalogue, S.', 'Barrios, C.', 'Wuerstlein, R.', 'Anton, A.', 'Brain, E.', 'Hatschek, T.', 'Kelly, C.M.', 'Peña-Murillo, C.', 'Yilmaz, M.'), True,
       'Trastuzumab emtansine (T-DM1) in patients with HER2-positive metastatic breast cancer and brain metastases: Exploratory final analysis of cohort 1 from KAMILLA, a single-arm phase IIIb clinical trial☆',
       'Ann. Oncol.', 2020, '31', '1350–1358'),
    _r(75, (), False,
       'DESTINY-Breast03 conference perspective (SABCS 2021)',
       'The Oncologist (online)', None, None, None,
       url='https://theoncologist.onlinelibrary.wiley.com/page/journal/1549490x/homepage/conference_perspectives/sabc2021/destiny'),
    _r(76, ('Lin, N.U.', 'Pegram, M.', 'Sahebjam, S.', 'Ibrahim, N.', 'Fung, A.', 'Cheng, A.', 'Nicholas, A.', 'Kirschbrown, W.', 'Kumthekar, P.'), False,
       'Pertuzumab Plus High-Dose Trastuzumab in Patients With Progressive Brain Metastases and HER2-Positive Metastatic Breast Cancer: Primary Analysis of a Phase II Study',
       'J. Clin. Oncol.', 2021, '39', '2667–2675'),
    _r(77, ('Stewart, D.J.', 'Dahrouge, S.'), False,
       'Response of brain metastases from breast cancer to megestrol acetate: A case report',
       'J. Neuro-Oncology', 1995, '24', '299–301',
       doi='10.1007/BF01052847'),
    _r(78, ('Salvati, M.', 'Cervoni, L.', 'Innocenzi, G.', 'Bardella, L.'), False,
       'Prolonged Stabilization of Multiple and Single Brain Metastases from Breast Cancer with Tamoxifen. Report of Three Cases',
       'Tumori J.', 1993, '79', '359–362'),
    _r(79, ('Madhup, R.', 'Kirti, S.', 'Bhatt, M.', 'Srivastava, P.', 'Srivastava, M.', 'Kumar, S.'), False,
       'Letrozole for brain and scalp metastases from breast cancer—A case report',
       'Breast', 2006, '15', '439–441'),
    _r(80, ('Brastianos, P.K.', 'Kim, A.E.', 'Wang, N.', 'Lee, E.Q.', 'Ligibel, J.', 'Cohen, J.V.', 'Chukwueke, U.N.', 'Mahar, M.', 'Oh, K.', 'White, M.D.'), True,
       'Palbociclib demonstrates intracranial activity in progressive brain metastases harboring cyclin-dependent kinase pathway alterations',
       'Nat. Cancer', 2021, '2', '498–502',
       doi='10.1038/s43018-021-00198-5'),
    _r(81, ('Tolaney, S.M.', 'Sahebjam, S.', 'Le Rhun, E.', 'Bachelot, T.', 'Kabos, P.', 'Awada, A.', 'Yardley, D.', 'Chan, A.', 'Conte, P.', 'Diéras, V.'), True,
       'A Phase II Study of Abemaciclib in Patients with Brain Metastases Secondary to Hormone Receptor-Positive Breast Cancer',
       'Clin. Cancer Res.', 2020, '26', '5310–5319'),
    _r(82, ('Soffietti, R.', 'Abacioglu, U.', 'Baumert, B.', 'Combs, S.E.', 'Kinhult, S.', 'Kros, J.M.', 'Marosi, C.', 'Metellus, P.', 'Radbruch, A.', 'Freixa, S.S.V.'), True,
       'Diagnosis and treatment of brain metastases from solid tumors: Guidelines from the European Association of Neuro-Oncology (EANO)',
       'Neuro-Oncology', 2017, '19', '162–174',
       doi='10.1093/neuonc/now241'),
    _r(83, ('Fontanella, C.', 'De Carlo, E.', 'Cinausero, M.', 'Pelizzari, G.', 'Venuti, I.', 'Puglisi, F.'), False,
       'Central nervous system involvement in breast cancer patients: Is the therapeutic landscape changing too slowly?',
       'Cancer Treat. Rev.', 2016, '46', '80–88'),
    _r(84, ('Palmer, J.D.', 'Trifiletti, D.M.', 'Gondi, V.', 'Chan, M.', 'Minniti, G.', 'Rusthoven, C.G.', 'E Schild, S.', 'Mishra, M.V.', 'Bovi, J.', 'Williams, N.'), True,
       'Multidisciplinary patient-centered management of brain metastases and future directions',
       'Neuro-Oncology Adv.', 2020, '2', 'vdaa034'),
)

# What the review's text says about each study it uses: (study type, size, what the model cites it
# for). Study type / size are the review's words; None where the review does not state them.
_STUDIES: dict[int, tuple[str | None, str | None, str]] = {
    6: ("meta-analysis", None, "incidence of BCBM by subtype (review §1)"),
    9: (None, None, "neurocognitive risk of WBRT (review §4.5)"),
    11: (None, None, "focal treatment of multiple metastases without loss of efficacy (review §1, §4.3)"),
    13: (None, None, "local therapies of BCBM: surgery, SRS, FSRT, WBRT (review §2)"),
    14: (None, None, "SRS dose by maximum tumour diameter (review §2, Table 1)"),
    15: (None, None, "SRS and FSRT of similar efficacy; FSRT preferred when PRN risk is significant"),
    16: (None, None, "WBRT 5 x 4 Gy or 10 x 3 Gy; longer regimens without benefit (review §2)"),
    17: ("response assessment criteria (RANO group proposal)", None, "RANO-BM (review §3, Table 2)"),
    19: (None, None, "post-radiation necrosis can mimic progression (review §3)"),
    20: (None, None, "transient enlargement after SRS (review §3)"),
    23: (None, None, "MRI tools to tell radionecrosis from progression (review §3)"),
    24: (None, None, "diffusion / perfusion MRI (review §3)"),
    25: (None, None, "PET to tell recurrence from radionecrosis (review §3)"),
    26: (None, None, "perfusion MRI and spectroscopy (review §3)"),
    27: (None, None, "SPECT to tell recurrence from radiation injury (review §3)"),
    28: (None, None, "perfusion-sensitive MRI (review §3)"),
    29: (None, None, "perfusion MRI after radiosurgery (review §3)"),
    30: ("retrospective series", "39 patients with salvage SRS after WBRT",
         "salvage SRS after WBRT: median OS 19 months; age < 40 prognostic (review §4.1)"),
    31: ("retrospective series", "15 patients",
         "salvage SRS after WBRT: median OS 14 months; KPS >= 90, SIR >= 6, ER+, "
         "post-menopausal prognostic (review §4.1)"),
    32: ("retrospective series",
         "103 patients: 81 after WBRT, 18 after surgery with WBRT, 4 after surgery alone",
         "salvage SRS: median OS 11.7 months; KPS >= 70, age < 50, ER+, HER2+, extracranial "
         "control prognostic (review §4.1)"),
    33: ("retrospective cohort analysis", "79 patients (63 after WBRT)",
         "salvage SRS: median OS 9.8 months; HER2+ and controlled extracranial disease "
         "prognostic (review §4.1)"),
    34: ("retrospective cohort", "56 patients: 39 WBRT then SRS, 17 SRS then WBRT",
         "re-irradiation either way: median OS 11.4 months after salvage SRS, 10.8 months after "
         "salvage WBRT; performance status the most important prognostic factor (review §4.1)"),
    35: ("retrospective analysis", "40 patients: 12 SRS, 9 FSRT, 19 repeated WBRT",
         "secondary radiotherapy after WBRT: median survival 6 months if HER2+ vs 2 months if "
         "HER2- (review §4.1)"),
    36: (None, None, "surgery or repeat SRS/FSRT for progression outside the irradiated volume"),
    37: (None, "58 patients (9 with breast cancer)", "resection after SRS (review §4.2)"),
    38: (None, "32 resected patients of 245 treated with Gamma Knife SRS (4 with BCBM)",
         "resection for progression after SRS; 4 specimens showed PRN only (review §4.2)"),
    39: ("cohort of salvage surgery (all primaries)", "9 patients with BCBM",
         "salvage surgery after stereotactic irradiation; postoperative RT may be justified"),
    40: (None, "32 patients (9 with BCBM), 46 lesions",
         "re-SRS: PRN in 30 %; volumes of 0.28 / 0.76 / 1.6 cm3 receiving >= 40 Gy ~ 10 / 20 / "
         "50 % PRN"),
    41: (None, "28 patients with 32 metastases (5 with BCBM)",
         "re-SRS / SRT after in-field failure: PRN in 18.8 % of lesions (review §4.2)"),
    42: ("systematic review and meta-analysis", "13 studies, 464 patients, 549 brain metastases",
         "second stereotactic course: crude median PRN 14.3 % (2-36 %) and its risk factors"),
    43: (None, None, "contemporary techniques treat multiple metastases (review §4.3)"),
    44: (None, None, "single-isocentre multitarget SRS (review §4.3)"),
    45: (None, None, "SRS for 10 or more metastases (review §4.3)"),
    46: (None, None, "radionecrosis by technique in multiple metastases (review §4.3)"),
    47: (None, None, "resection of a dominant symptomatic lesion (review §4.3)"),
    48: (None, None, "resection of symptomatic lesions among multiple metastases (review §4.3)"),
    49: (None, "41 patients (8 with BCBM)", "repeat WBRT: median OS 3.3 months (review §4.3)"),
    51: (None, "22 patients with breast cancer and leptomeningeal metastases",
         "WBRT for leptomeningeal disease: poor survival, most benefit in good PS (review §4.4)"),
    52: (None, None, "WBRT for leptomeningeal carcinomatosis: poor survival (review §4.4)"),
    53: ("small retrospective study", "16 patients (5 with BCBM)",
         "SRS for focal leptomeningeal disease: median OS 10 months (review §4.4)"),
    54: (None, None, "SRS for multiple metastases (review §4.5)"),
    55: (None, None, "SRS for 10 or more metastases (review §4.5)"),
    57: ("graded prognostic assessment (updated Breast GPA)", None,
         "expected survival by KPS, subtype, age, number of BCBM, extracranial metastases"),
    59: (None, None, "selected systemic therapies are active against BCBM (review §5)"),
    60: ("prospective nonrandomized study", "22 patients (7 previously treated locally)",
         "CMF: clinical benefit in 5 of 7 locally pre-treated patients (review §5.1)"),
    61: ("review", "21 clinical trials", "temozolomide for brain metastases (review §5.1)"),
    62: ("phase II clinical trial (HeCOG)", "15 patients with BCBM",
         "temozolomide with cisplatin: partial response in 6 of 15 BCBM (review §5.1)"),
    63: ("prospective phase I clinical trial", "24 patients (10 with progressive BCBM)",
         "temozolomide with capecitabine (review §5.1)"),
    64: (None, None, "bevacizumab reduces oedema and steroid need (review §5.1)"),
    65: ("retrospective study", "22 patients (9 with BCBM)",
         "bevacizumab salvage for symptomatic recurrent BM unfit for local therapy: clinical "
         "benefit 91 % (review §5.1)"),
    66: (None, None, "sacituzumab govitecan approved for metastatic TNBC (review §5.2)"),
    67: ("clinical trial NCT03995706, early results", None,
         "intracranial activity of sacituzumab govitecan (review §5.2)"),
    68: (None, "37 patients enrolled, 34 evaluable",
         "iniparib with irinotecan in TNBC brain metastases: ORR 12 % (review §5.2)"),
    70: ("exploratory analysis of the HER2CLIMB clinical trial",
         "291 patients (108 with progressive BCBM)",
         "tucatinib with trastuzumab and capecitabine: intracranial ORR 47.3 % (review §5.3)"),
    71: ("large phase II clinical trial", "242 patients (50 analysed on lapatinib-capecitabine)",
         "lapatinib with capecitabine: intracranial ORR 20 % (review §5.3)"),
    72: ("phase I study", None, "high-dose lapatinib alternating with capecitabine (review §5.3)"),
    73: (None, "cohort 3A 37 patients, cohort 3B 12 patients",
         "neratinib with capecitabine: intracranial ORR 49 % / 33 % (review §5.3)"),
    74: ("single-arm phase IIIb clinical trial (KAMILLA)", None,
         "trastuzumab emtansine intracranial activity (review §5.3)"),
    75: ("subgroup analysis of the phase III DESTINY-Breast03 trial", None,
         "trastuzumab deruxtecan: intracranial response 63.8 % vs 33.3 % (review §5.3)"),
    76: (None, "39 patients with progressive BCBM",
         "pertuzumab with high-dose trastuzumab: intracranial ORR 11 % (review §5.3)"),
    77: ("case series and case reports", None, "hormonal therapy: anecdotal responses only"),
    78: ("case series and case reports", None, "hormonal therapy: anecdotal responses only"),
    79: ("case series and case reports", None, "hormonal therapy: anecdotal responses only"),
    80: ("early phase clinical trial", None, "palbociclib intracranial activity (review §5.4)"),
    81: ("early phase clinical trial", None, "abemaciclib intracranial activity (review §5.4)"),
    82: (None, None, "decisions belong to a multidisciplinary tumour board (review §6)"),
    83: (None, None, "decisions belong to a multidisciplinary tumour board (review §6)"),
    84: (None, None, "decisions belong to a multidisciplinary tumour board (review §6)"),
}


def _build() -> dict[int, Reference]:
    table: dict[int, Reference] = {}
    for ref in _BIBLIOGRAPHY:
        if ref.number in table:
            raise ValueError(f"reference {ref.number} listed twice")
        study_type, size, used_for = _STUDIES.get(ref.number, (None, None, None))
        table[ref.number] = replace(ref, study_type=study_type, size=size, used_for=used_for)
    unknown = set(_STUDIES) - set(table)
    if unknown:
        raise ValueError(f"study notes for unknown references: {sorted(unknown)}")
    return table


REFERENCES: dict[int, Reference] = _build()


def reference(number: int) -> Reference:
    """The review's reference `number`; KeyError when the review has no such reference."""
    return REFERENCES[number]


@lru_cache(maxsize=512)  # numbers written in the rules (or a regimen's): the same few per call
def cite(*numbers: int) -> tuple[int, ...]:
    """Validated, de-duplicated, ascending reference numbers for an option or a warning."""
    unknown = [n for n in numbers if n not in REFERENCES]
    if unknown:
        raise KeyError(f"not references of the review: {unknown}")
    return tuple(sorted(set(numbers)))


def span(first: int, last: int) -> tuple[int, ...]:
    """[first–last] as the review writes a range, validated."""
    return cite(*range(first, last + 1))


# --- Citing the review and its references: one formatter for the cards and the SMART app --------
REVIEW_URL = f"https://doi.org/{REVIEW_DOI}"
REVIEW_SHORT = "Spalek & Mandat, Cancers 2022"
AUTHORS_SHOWN = 3  # authors named before "et al." in a reference line


def citation(ref: Reference) -> str:
    """One reference line: authors, title, journal year;volume:pages, then what the review says
    of the study (design, size) when it says it."""
    authors = ", ".join(ref.authors[:AUTHORS_SHOWN])
    if authors and (ref.et_al or len(ref.authors) > AUTHORS_SHOWN):
        authors += " et al."
    parts = [p.rstrip(".") for p in (authors, ref.title) if p]
    venue = " ".join(str(p) for p in (ref.journal, ref.year) if p)
    if venue and ref.volume:
        venue += f";{ref.volume}" + (f":{ref.pages}" if ref.pages else "")
    if venue:
        parts.append(venue)
    text = ". ".join(parts) + "." if parts else f"Reference {ref.number} of the review."
    study = ", ".join(p for p in (ref.study_type, ref.size) if p)
    return text + (f" Study: {study}." if study else "")
