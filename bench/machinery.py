"""Each piece of performance machinery with and without it, in one run (issue 15 item 5).

For every piece, the service is started as deployed with the piece replaced by the plain version it
stands in for (`bench/variants/sitecustomize.py`, BENCH_WITHOUT), alternating with the service as
it is, over several rounds; each measures patient-view (full prefetch, or no prefetch against the
FHIR server with its 50 ms delay for the FHIR thread pool) at c1 and c8. A piece earns its lines
when it saves >= 5 % of a call's service CPU or moves a p50/p99 at c1 or c8 by more than 5 %.
"""

from __future__ import annotations

import os
import statistics
import sys
from collections.abc import Callable
from typing import Any

from bench.run import ROOT, Result, Scenario, run_scenario, start_service
from tests.support.processes import stop_process_group

VARIANTS = ROOT / "bench" / "variants"
FULL_PREFETCH_PIECES = ("template memo", "orjson provider", "batch writer", "writer linger",
                        "relaxed engine")
NO_PREFETCH_PIECES = ("FHIR thread pool",)
EARNS_CPU = 0.05
EARNS_LATENCY = 0.05


def _service_without(piece: str | None, workers: int | None) -> Any:
    """The service with the variants' sitecustomize on its path, `piece` turned off (if any)."""
    return start_service(workers, extra_env={"PYTHONPATH": str(VARIANTS),
                                             "BENCH_WITHOUT": piece or ""})


def _measure(pool: Any, workers: int | None, piece: str | None,
             scenarios: list[Scenario]) -> list[Result]:
    service, host_port = _service_without(piece, workers)
    try:
        return [run_scenario(pool, host_port, s, service_pid=service.pid) for s in scenarios]
    finally:
        stop_process_group(service)


def selected(pieces: tuple[str, ...]) -> tuple[str, ...]:
    """BENCH_PIECES (comma-separated) measures only those pieces."""
    wanted = os.environ.get("BENCH_PIECES")
    return tuple(p for p in pieces if p in wanted.split(",")) if wanted else pieces


def compare(pool: Any, workers: int | None, pieces: tuple[str, ...],
            scenarios: Callable[[], list[Scenario]], rounds: int) -> dict[str, Any]:
    """{piece or "as is": {scenario: [Result per round]}}, the variants interleaved per round."""
    runs: dict[str, dict[str, list[Result]]] = {}
    if not pieces:
        return runs
    for _ in range(rounds):
        for piece in (None, *pieces):
            label = piece or "as is"
            for result in _measure(pool, workers, piece, scenarios()):
                runs.setdefault(label, {}).setdefault(result.name, []).append(result)
            print(f"  machinery {label}: done", file=sys.stderr)
    return runs


def summarise(runs: dict[str, dict[str, list[Result]]], pieces: tuple[str, ...]
              ) -> list[dict[str, Any]]:
    """Per piece: service CPU per call and p50/p99 with and without it (medians over rounds,
    ranges kept), and whether it earns its lines."""
    rows: list[dict[str, Any]] = []
    if not runs:
        return rows
    base = runs["as is"]
    for piece in pieces:
        without = runs[piece]
        row: dict[str, Any] = {"piece": piece, "scenarios": {}}
        earns = False
        for name in base:
            figures = {}
            for metric in ("worker_cpu_ms_per_request", "p50_ms", "p99_ms"):
                with_values = [getattr(r, metric) for r in base[name]]
                without_values = [getattr(r, metric) for r in without[name]]
                w, wo = statistics.median(with_values), statistics.median(without_values)
                saving = (wo - w) / wo if wo else 0.0
                figures[metric] = {"with": with_values, "without": without_values,
                                   "saving": round(saving, 3)}
                threshold = EARNS_CPU if metric.startswith("worker_cpu") else EARNS_LATENCY
                earns = earns or saving >= threshold
            row["scenarios"][name] = figures
        row["earns_its_lines"] = earns
        rows.append(row)
    return rows


def print_summary(rows: list[dict[str, Any]]) -> None:
    print(f"\n{'piece (with / without)':18} {'scenario':44} {'CPU ms/call':>21} {'p50 ms':>17} "
          f"{'p99 ms':>17}")
    for row in rows:
        for name, figures in row["scenarios"].items():
            cells = []
            for metric in ("worker_cpu_ms_per_request", "p50_ms", "p99_ms"):
                f = figures[metric]
                cells.append(f"{statistics.median(f['with']):6.2f}/{statistics.median(f['without']):<6.2f}"
                             f"({f['saving'] * 100:+3.0f}%)")
            print(f"{row['piece']:18} {name:44} {cells[0]:>21} {cells[1]:>17} {cells[2]:>17}")
        print(f"{'':18} -> {'earns its lines' if row['earns_its_lines'] else 'back to plain'}")
