"""docs/integration.md: every shell block marked `<!-- tried: NAME -->` runs as written, in order,
in one bash session, against the suite's real FHIR server and a real `salvage-cds serve` — only
the guide's first block (where the servers are) is replaced by this test's addresses — and prints
what the guide shows under it (the ```text block that follows; `…` matches anything)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.support.processes import free_port

pytestmark = pytest.mark.integration

GUIDE = ROOT / "docs" / "integration.md"
GUIDE_FHIR = "http://127.0.0.1:8103/fhir"
GUIDE_SERVICE = "http://127.0.0.1:8080"
GUIDE_DIR = "/tmp/salvage-guide"
TRIED = re.compile(r"<!-- tried: (?P<name>[\w-]+) -->\n```bash\n(?P<code>.*?)\n```\n"
                   r"(?:\n```text\n(?P<printed>.*?)\n```\n)?", re.S)
MARK = "@@guide-block {}@@"
RUN_TIMEOUT_S = 240


def tried_blocks(text: str) -> list[tuple[str, str, str | None]]:
    return [(m["name"], m["code"], m["printed"]) for m in TRIED.finditer(text)]


def script(blocks: list[tuple[str, str, str | None]], fhir: str, service: str, workdir: Path) -> str:
    settings = "\n".join([
        f"export CLONE={ROOT}",
        f'export PATH="{Path(sys.executable).parent}:$PATH"',
        f"export FHIR={fhir}",
        f"export SERVICE={service}",
        f"cd {workdir}",
    ])
    # a block that fails must not leave the service it started running
    parts = ["set -euo pipefail", "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT", settings]
    for name, code, _ in blocks:
        parts += [f"echo '{MARK.format(name)}'", code]
    return "\n".join(parts) + "\n"


def printed_by_block(output: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    current = None
    for line in output.splitlines():
        if match := re.fullmatch(r"@@guide-block ([\w-]+)@@", line):
            current = match[1]
            found[current] = []
        elif current is not None:
            found[current].append(line)
    return found


def shown_as_pattern(line: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in line.split("…")))


def assert_shown_in_order(name: str, shown: str, printed: list[str]) -> None:
    """Each line the guide shows is printed by its block, in the guide's order."""
    position = 0
    for wanted in filter(str.strip, shown.splitlines()):
        pattern = shown_as_pattern(wanted.rstrip())
        for index in range(position, len(printed)):
            if pattern.fullmatch(printed[index].rstrip()):
                position = index + 1
                break
        else:
            raise AssertionError(f"block {name!r}: the guide shows {wanted!r}, but it printed:\n"
                                 + "\n".join(printed))


def test_the_guide_marks_its_tried_blocks() -> None:
    blocks = tried_blocks(GUIDE.read_text("utf-8"))
    names = [name for name, _, _ in blocks]
    assert names == ["demo-load", "clients", "start", "discovery", "no-prefetch", "prefetch",
                     "epic-shaped", "feedback", "smart-guard", "stop"]
    assert all(printed for name, _, printed in blocks if name != "stop")


def test_the_readme_links_the_guide_and_keeps_its_two_commands() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    assert "[`docs/integration.md`](docs/integration.md)" in readme
    assert ("scripts/serve.sh    # set up (.venv) and start the service on http://127.0.0.1:8080 "
            "(dev mode: no client auth)\nscripts/test.sh     # set up (.venv, test FHIR server, "
            "chromium) and run the whole test suite") in readme


def test_every_tried_step_of_the_guide_works_as_shown(clean_fhir_server, tmp_path) -> None:
    blocks = tried_blocks(GUIDE.read_text("utf-8"))
    fhir = clean_fhir_server.base_url
    service = f"http://127.0.0.1:{free_port()}"
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("SALVAGE_CDS_")}  # the guide sets its own
    process = subprocess.Popen(["bash", "-c", script(blocks, fhir, service, tmp_path)],
                               cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"the guide's blocks did not finish:\n{output[-4000:]}")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)  # anything the blocks left behind
        clean_fhir_server.reset_all()  # the demo patients are not other tests' data
    as_in_guide = (output.replace(fhir, GUIDE_FHIR).replace(service, GUIDE_SERVICE)
                   .replace(str(tmp_path), GUIDE_DIR))
    serve_log = tmp_path / "serve.log"
    assert process.returncode == 0, (as_in_guide[-4000:] + "\n--- serve.log:\n"
                                     + (serve_log.read_text() if serve_log.exists() else ""))
    printed = printed_by_block(as_in_guide)
    for name, _, shown in blocks:
        assert name in printed, f"block {name!r} never ran"
        if shown:
            assert_shown_in_order(name, shown, printed[name])
