"""The layers of docs/architecture.md hold: import-linter's contracts (pyproject.toml,
`[tool.importlinter]`), no import cycle between the project's modules, and no function-level
import without a reason written next to it."""

from __future__ import annotations

import ast
import io
from contextlib import redirect_stdout
from pathlib import Path

import grimp
from importlinter.application.use_cases import lint_imports
from importlinter.configuration import configure

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("cds_service", "hooks", "cards")


def test_import_linter_contracts_are_kept() -> None:
    configure()  # what `lint-imports` does first: the readers of pyproject.toml, the graph builder
    output = io.StringIO()
    with redirect_stdout(output):
        kept = lint_imports(config_filename=str(ROOT / "pyproject.toml"), cache_dir=None,
                           no_logo=True)
    assert kept, output.getvalue()


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor,
                                 iter(sorted(graph.find_modules_directly_imported_by(successor)))))
                    break
                if successor in on_stack:
                    low[module] = min(low[module], index[successor])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[module])
                if low[module] == index[module]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == module:
                            break
                    if len(component) > 1:
                        cycles.append(sorted(component))
    return cycles


def test_no_import_cycle_between_modules() -> None:
    # imports under TYPE_CHECKING count too: a cycle the interpreter never sees is one all the same
    graph = grimp.build_graph(*PACKAGES)
    assert import_cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for module in ("a", "b", "c"):
        graph.add_module(module)
    graph.add_import(importer="a", imported="b")
    graph.add_import(importer="b", imported="a")
    graph.add_import(importer="b", imported="c")
    assert import_cycles(graph) == [["a", "b"]]


def unexplained_function_imports(source: str) -> list[int]:
    """Line numbers of imports inside a function with no comment on their line, nor on the line
    before them (or before the block of imports they belong to)."""
    lines = source.splitlines()
    found = []
    for function in ast.walk(ast.parse(source)):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        found.extend(node.lineno for node in ast.walk(function)
                     if isinstance(node, (ast.Import, ast.ImportFrom))
                     and not _explained(lines, node.lineno))
    return sorted(set(found))


def _explained(lines: list[str], lineno: int) -> bool:
    if "#" in lines[lineno - 1]:
        return True
    above = lineno - 2
    while above >= 0 and (not lines[above].strip()
                          or lines[above].lstrip().startswith(("import ", "from "))):
        above -= 1
    return above >= 0 and lines[above].lstrip().startswith("#")


def test_function_level_imports_say_why() -> None:
    unexplained = {
        str(path.relative_to(ROOT)): lines
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if (lines := unexplained_function_imports(path.read_text(encoding="utf-8")))
    }
    assert unexplained == {}


def test_the_function_import_check_wants_a_reason() -> None:
    source = ("def f():\n    import os\n\n"
              "def g():\n    # the reason\n    import os\n    import sys\n\n"
              "def h():\n    import os  # the reason\n")
    assert unexplained_function_imports(source) == [2]
