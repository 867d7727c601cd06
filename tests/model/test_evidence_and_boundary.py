"""Evidence registry (issue item 8) and the model's boundary: no IO, no Flask, no requests."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from cds_service.model import evidence
from cds_service.model.assessment import Assessment
from cds_service.model.evidence import REFERENCES, cite, reference, span

MODEL_DIR = Path(__file__).resolve().parents[2] / "cds_service" / "model"
# The review's reference list, copied with its source into tests/data (any clone has it).
REVIEW = Path(__file__).resolve().parents[1] / "data" / "review-references.md"
FORBIDDEN = {"flask", "requests", "werkzeug", "urllib", "http", "socket", "sqlalchemy",
             "fhir", "fhirclient"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted(MODEL_DIR.glob("*.py")), ids=lambda p: p.name)
def test_model_module_imports_no_flask_requests_or_io(path: Path) -> None:
    assert not _imports(path) & FORBIDDEN
    assert "open(" not in path.read_text(encoding="utf-8")


def test_the_whole_model_package_loads_without_flask_or_requests() -> None:
    import subprocess
    import sys

    code = ("import sys\nimport cds_service.model.assess, cds_service.model.order_checks\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'requests'))\n"
            "print(bad)\nsys.exit(1 if bad else 0)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_reference_of_the_review_is_registered_once() -> None:
    assert sorted(REFERENCES) == list(range(1, 85))


def test_bibliographic_fields_match_the_review() -> None:
    ref = reference(40)
    assert ref.authors[0] == "McKay, W.H." and ref.et_al
    assert (ref.journal, ref.year, ref.volume, ref.pages) == ("J. Neurosurg.", 2017, "127",
                                                              "148–156")
    assert ref.size == "32 patients (9 with BCBM), 46 lesions"
    assert reference(42).study_type == "systematic review and meta-analysis"
    assert reference(57).title.startswith("Beyond an Updated Graded Prognostic Assessment")
    assert reference(75).url and reference(75).year is None


def test_the_review_doi_is_the_one_it_prints() -> None:
    # the review prints no DOI in its reference list (only "CrossRef" links): the references'
    # DOIs each have a sourced row (tests/model/test_evidence_dois.py)
    assert evidence.REVIEW_DOI == "10.3390/cancers14041096"


def test_every_registered_title_and_year_appears_in_the_review() -> None:
    text = REVIEW.read_text(encoding="utf-8")
    for ref in REFERENCES.values():
        if ref.year is not None:
            assert ref.title in text, ref.number
            assert f"**{ref.year}**" in text


def test_cite_refuses_unknown_numbers_and_sorts() -> None:
    assert cite(42, 40, 40) == (40, 42)
    assert span(82, 84) == (82, 83, 84)
    with pytest.raises(KeyError):
        cite(85)


def test_no_clinical_literal_in_rule_conditions() -> None:
    """Thresholds live in constants.py: rule modules compare against names, never numbers."""
    for name in ("situation.py", "rano_bm.py", "gpa.py", "options.py", "regimens.py",
                 "order_checks.py", "performance.py", "systemic.py", "safety_warnings.py",
                 "facts.py", "assess.py"):
        tree = ast.parse((MODEL_DIR / name).read_text(encoding="utf-8"))
        literals = [
            (name, node.lineno, operand.value)
            for node in ast.walk(tree) if isinstance(node, ast.Compare)
            for operand in (node.left, *node.comparators)
            if isinstance(operand, ast.Constant) and isinstance(operand.value, (int, float))
            and not isinstance(operand.value, bool) and operand.value not in (0, 1)
        ]
        assert not literals


def test_assessment_is_pure_data() -> None:
    assert Assessment.__module__ == "cds_service.model.assessment"
