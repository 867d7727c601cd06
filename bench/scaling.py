"""Scaling and the floor (issue 19 item 3): service CPU per call as the body grows, against the floor
app (`bench/floor.py`) served the same way and fed the same bodies, interleaved in one run.

Bodies: the benchmark patient with full prefetch; the same with +1,000, +3,000, +5,000, +10,000 and
+20,000 unrelated lab Observations in its `observations` key (an EHR may send more than was
asked); a chart of 50 lesions x 10 scans; a chart of 200 radiotherapy courses. For each body, in
rounds (more for bodies under 1 MiB, `rounds_for`), a batch of sequential calls (concurrency 1)
goes to the service, then the same batch to the floor (the order alternates between rounds); the
CPU time of each server's gunicorn workers (/proc) divided by the calls is the CPU per call. Then
four concurrent 4 MiB calls go to a one-worker service (and a one-worker floor): peak and
after-the-calls RSS of that worker.
`run_memory` (`python -m bench.run --memory-only`) does only that, for each bound on the large
bodies a worker handles at once (SALVAGE_CDS_LARGE_BODIES_PER_WORKER), alternating.
"""

from __future__ import annotations

import http.client
import json
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.patient import realistic_patient
from bench.run import (
    ROOT,
    cpu_seconds,
    peak_rss_mb,
    start_service,
    worker_pids,
)
from cds_service.config import ServiceConfig
from cds_service.ops.cli import DEFAULT_THREADS, default_workers
from tests.support import fhir_builders as b
from tests.support.hook_requests import full_prefetch, hook_request
from tests.support.processes import free_port, stop_process_group, wait_for_health

SERVICE_PATH = "/cds-services/bcbm-salvage"
ROUNDS = 3
# Bodies under 1 MiB get more rounds: theirs are cheap, and the bench patient's median CPU is
# subtracted from every body's to give the cost per added resource, so its noise moves every
# slope (most the +1,000 one) — with 3 rounds, by as much as the whole +/- 10 % target.
SMALL_BODY_ROUNDS = 9
CPU_BUDGET_S = 1.5  # service CPU aimed at per batch (fewer calls for bigger bodies)
UNRELATED_COUNTS = (0, 1_000, 3_000, 5_000, 10_000, 20_000)
MEMORY_BODY_EXTRA = 3_000  # the 4 MiB body of the memory target
MEMORY_CONCURRENCY = 4
MEMORY_REPEATS = 3

# Targets of issue 19 item 3.
TARGET_RATIO_BENCH_PATIENT = 3.0
TARGET_RATIO_LARGE = 1.5
LARGE_BYTES = 1024 * 1024  # ">= 1 MiB"
TARGET_SLOPE_SPREAD = 0.10  # cost per added resource constant within +/- 10 % from 1 to 26 MiB
TARGET_PEAK_RSS_MB = 150.0
RETURNED_MARGIN_MB = 20.0  # "returned": RSS after the calls within this of RSS before them


@dataclass
class BodyResult:
    name: str
    unrelated: int | None  # added Observations (the scaling series), else None
    resources: int
    bytes: int
    calls_per_round: int
    service_cpu_ms: list[float] = field(default_factory=list)  # per call, one value per round
    floor_cpu_ms: list[float] = field(default_factory=list)
    service_p50_ms: float = 0.0
    floor_p50_ms: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def service(self) -> float:
        return statistics.median(self.service_cpu_ms)

    @property
    def floor(self) -> float:
        return statistics.median(self.floor_cpu_ms)

    @property
    def ratio(self) -> float:
        return self.service / self.floor if self.floor else float("inf")


# -- bodies --------------------------------------------------------------------------------------
def unrelated_lab(pid: str, index: int) -> dict[str, Any]:
    """A lab-sized Observation the salvage model does not read (haemoglobin), ~1.3 kB as JSON."""
    day = f"20{10 + index % 14:02d}-{1 + index % 12:02d}-{1 + index % 28:02d}"
    return b.observation(
        f"lab-{index}", pid, "http://loinc.org", "718-7", f"{day}T08:{index % 60:02d}:00Z",
        meta={"lastUpdated": f"{day}T09:00:00Z", "versionId": "1",
              "profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-observation-lab"]},
        category=[{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                               "code": "laboratory", "display": "Laboratory"}]}],
        issued=f"{day}T09:00:00Z",
        performer=[{"reference": "Organization/hospital-lab", "display": "Hospital laboratory"}],
        valueQuantity={"value": 11 + index % 40 / 10, "unit": "g/dL",
                       "system": "http://unitsofmeasure.org", "code": "g/dL"},
        interpretation=[{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
            "code": "N", "display": "Normal"}]}],
        referenceRange=[{"low": {"value": 12, "unit": "g/dL", "system": "http://unitsofmeasure.org",
                                 "code": "g/dL"},
                         "high": {"value": 16, "unit": "g/dL",
                                  "system": "http://unitsofmeasure.org", "code": "g/dL"},
                         "text": "12-16 g/dL"}],
        specimen={"reference": f"Specimen/blood-{index}", "display": "Venous blood"},
    )


def _body(resources: list[dict[str, Any]], extra_observations: list[dict[str, Any]] = ()
          ) -> bytes:
    pid = next(r["id"] for r in resources if r["resourceType"] == "Patient")
    prefetch = full_prefetch(resources)
    observations = prefetch["observations"]
    observations["entry"] += [
        {"fullUrl": f"http://ehr.example/fhir/Observation/{o['id']}", "resource": o}
        for o in extra_observations]
    observations["total"] = len(observations["entry"])
    return json.dumps(hook_request(pid, prefetch=prefetch)).encode()


def many_lesions(lesions: int = 50, scans: int = 10) -> list[dict[str, Any]]:
    resources = [r for r in realistic_patient() if not _is_lesion_data(r)]
    pid = next(r["id"] for r in resources if r["resourceType"] == "Patient")
    for number in range(1, lesions + 1):
        lesion = b.tumor(pid, f"lesion-{number}")
        resources.append(lesion)
        for scan in range(scans):
            date = f"{2020 + scan // 4}-{1 + 3 * (scan % 4):02d}-15"
            resources.append(b.tumor_size(pid, lesion, date, 5 + (number + scan) % 20))
    return resources


def many_courses(courses: int = 200) -> list[dict[str, Any]]:
    resources = realistic_patient()
    pid = next(r["id"] for r in resources if r["resourceType"] == "Patient")
    bm = next(r for r in resources if r.get("id") == "brain-mets")
    volume = next(r for r in resources if r.get("id") == "vol-srs-1")
    for number in range(courses):
        day = f"{2010 + number // 20}-{1 + number % 12:02d}-{1 + number % 28:02d}"
        resources.append(b.rt_course(pid, f"course-{number}", volume, 1800, 1, day, reason=bm,
                                     reirradiation=number > 0))
    return resources


def _is_lesion_data(resource: dict[str, Any]) -> bool:
    return resource["resourceType"] == "BodyStructure" and "lesion" in json.dumps(
        resource.get("identifier", "")) or (
        resource["resourceType"] == "Observation" and "focus" in resource
        and resource.get("code", {}).get("coding", [{}])[0].get("code") == "21889-1")


def scaling_bodies() -> list[tuple[str, int | None, int, bytes]]:
    """(name, unrelated Observations added, resources, body) for every body of the series."""
    patient = realistic_patient()
    pid = next(r["id"] for r in patient if r["resourceType"] == "Patient")
    labs = [unrelated_lab(pid, i) for i in range(max(UNRELATED_COUNTS))]
    bodies = []
    for count in UNRELATED_COUNTS:
        name = "bench patient" if count == 0 else f"bench patient +{count:,} Observations"
        bodies.append((name, count, len(patient) + count, _body(patient, labs[:count])))
    lesions, courses = many_lesions(), many_courses()
    bodies.append(("50 lesions x 10 scans", None, len(lesions), _body(lesions)))
    bodies.append(("200 radiotherapy courses", None, len(courses), _body(courses)))
    return bodies


# -- servers -------------------------------------------------------------------------------------
def start_floor(workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.floor", "--port", str(port), "--workers", str(workers),
         "--threads", str(DEFAULT_THREADS)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    return process, wait_for_health(process, port, "floor app")


def _post(host_port: str, body: bytes, calls: int) -> tuple[list[float], dict[str, int]]:
    host, port = host_port.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    latencies, statuses = [], {}
    for _ in range(calls):
        started = time.perf_counter()
        conn.request("POST", SERVICE_PATH, body=body,
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        latencies.append((time.perf_counter() - started) * 1000)
        statuses[str(response.status)] = statuses.get(str(response.status), 0) + 1
    conn.close()
    return latencies, statuses


def _batch(host_port: str, master: int, body: bytes, calls: int
           ) -> tuple[float, list[float], dict[str, int]]:
    pids = worker_pids(master)
    before = cpu_seconds(pids)
    latencies, statuses = _post(host_port, body, calls)
    return (cpu_seconds(pids) - before) * 1000 / calls, latencies, statuses


def measure_body(service: tuple[str, int], floor: tuple[str, int], name: str,
                 unrelated: int | None, resources: int, body: bytes, rounds: int) -> BodyResult:
    # calibrate: one call each (also the warm-up of this body's code paths)
    for host_port, _ in (service, floor):
        _post(host_port, body, 2)
    started = cpu_seconds(worker_pids(service[1]))
    _post(service[0], body, 1)
    one_call = max(cpu_seconds(worker_pids(service[1])) - started, 0.001)
    calls = int(min(200, max(3, CPU_BUDGET_S / one_call)))
    result = BodyResult(name, unrelated, resources, len(body), calls)
    service_lat, floor_lat = [], []
    for round_number in range(rounds):
        order = (("service", service), ("floor", floor))
        for label, (host_port, master) in order if round_number % 2 == 0 else order[::-1]:
            cpu_ms, latencies, statuses = _batch(host_port, master, body, calls)
            if label == "service":
                result.service_cpu_ms.append(round(cpu_ms, 3))
                service_lat += latencies
                for code, n in statuses.items():
                    result.statuses[code] = result.statuses.get(code, 0) + n
            else:
                result.floor_cpu_ms.append(round(cpu_ms, 3))
                floor_lat += latencies
    result.service_p50_ms = round(statistics.median(service_lat), 2)
    result.floor_p50_ms = round(statistics.median(floor_lat), 2)
    return result


def _wait_for_workers(master: int, count: int) -> None:
    deadline = time.monotonic() + 30
    while len(worker_pids(master)) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)  # every worker has loaded its app


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _reset_peak_rss(pid: int) -> None:
    """VmHWM starts again from the current RSS (Linux: 5 to /proc/pid/clear_refs)."""
    with open(f"/proc/{pid}/clear_refs", "w") as refs:
        refs.write("5")


def _post_into(answers: list[tuple[list[float], dict[str, int]]], host_port: str,
               body: bytes) -> None:
    answers.append(_post(host_port, body, 1))


def memory_under_concurrency(start: Any, body: bytes) -> dict[str, Any]:
    """Four concurrent calls with `body` to a one-worker server, a few times: the worker's RSS
    before, its peak, and after (settled); the wall time of each round of four calls, each call's
    time, and the statuses."""
    process, host_port = start()
    try:
        _wait_for_workers(process.pid, 1)
        (pid,) = worker_pids(process.pid)
        _post(host_port, b'{"hook": "patient-view"}', 2)  # small calls: the worker is warm
        before = rss_mb(pid)
        # two bench-patient calls: what the first answered call keeps (caches, code paths run
        # once) apart from what the large calls leave
        _post(host_port, _body(realistic_patient()), 2)
        before_answered = rss_mb(pid)
        _reset_peak_rss(pid)  # the peak of the calls, not of the start-up
        walls, calls, statuses = [], [], {}
        for _ in range(MEMORY_REPEATS):
            answers: list[tuple[list[float], dict[str, int]]] = []
            threads = [threading.Thread(target=_post_into, args=(answers, host_port, body))
                       for _ in range(MEMORY_CONCURRENCY)]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            walls.append(round(time.perf_counter() - started, 3))
            for latencies, answer in answers:
                calls += [round(ms / 1000, 3) for ms in latencies]
                for code, n in answer.items():
                    statuses[code] = statuses.get(code, 0) + n
        time.sleep(1.0)
        return {"before_mb": round(before, 1), "before_answered_mb": round(before_answered, 1),
                "peak_mb": round(peak_rss_mb(pid), 1),
                "after_mb": round(rss_mb(pid), 1), "wall_s": walls, "call_s": calls,
                "statuses": statuses}
    finally:
        stop_process_group(process)


LARGE_BODIES_SETTING = "SALVAGE_CDS_LARGE_BODIES_PER_WORKER"
MEMORY_BOUNDS = (1, 2, 0)  # large bodies at once per worker; 0: no bound


def start_service_with(setting: str, value: str) -> tuple[subprocess.Popen, str]:
    """A one-worker service with one setting changed (the environment it starts from)."""
    return start_service(1, extra_env={setting: value})


def memory_body() -> bytes:
    """The 3.8 MiB body of the memory target: the bench patient +3,000 lab Observations."""
    patient = realistic_patient()
    pid = next(r["id"] for r in patient if r["resourceType"] == "Patient")
    return _body(patient, [unrelated_lab(pid, i) for i in range(MEMORY_BODY_EXTRA)])


def run_memory(repeats: int = MEMORY_REPEATS) -> dict[str, Any]:
    """`memory_under_concurrency` for each large-body bound (`MEMORY_BOUNDS`) and the floor, a
    fresh one-worker server each time, the variants alternating (the order turns each repeat)."""
    body = memory_body()
    variants: dict[str, Any] = {f"bound {b}" if b else "no bound": (
        lambda b=b: start_service_with(LARGE_BODIES_SETTING, str(b))) for b in MEMORY_BOUNDS}
    variants["floor"] = lambda: start_floor(1)
    names = list(variants)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for repeat in range(repeats):
        for name in names[repeat % len(names):] + names[:repeat % len(names)]:
            runs[name].append(memory_under_concurrency(variants[name], body))
            print(f"  memory {name}, repeat {repeat + 1}: {runs[name][-1]}", file=sys.stderr)
    return {"body_bytes": len(body), "concurrency": MEMORY_CONCURRENCY,
            "rounds_per_run": MEMORY_REPEATS, "runs": runs}


def _span(values: list[float]) -> str:
    low, high = min(values), max(values)
    return f"{low:g}" if low == high else f"{low:g}-{high:g}"


def print_memory(report: dict[str, Any]) -> None:
    runs_per_variant = len(next(iter(report["runs"].values())))
    print(f"\n{report['concurrency']} concurrent {report['body_bytes'] / 2**20:.1f} MiB calls, one "
          f"worker, {report['rounds_per_run']} rounds per run, {runs_per_variant} runs per variant "
          "(ranges over the runs)")
    print(f"{'variant':10} {'before MB':>11} {'peak MB':>11} {'after MB':>11} "
          f"{'after-before':>13} {'wall s / 4 calls':>17} {'median call s':>14}  statuses")
    for name, runs in report["runs"].items():
        statuses: dict[str, int] = {}
        for run in runs:
            for code, n in run["statuses"].items():
                statuses[code] = statuses.get(code, 0) + n
        print(f"{name:10} {_span([r['before_mb'] for r in runs]):>11} "
              f"{_span([r['peak_mb'] for r in runs]):>11} "
              f"{_span([r['after_mb'] for r in runs]):>11} "
              f"{_span([round(r['after_mb'] - r['before_mb'], 1) for r in runs]):>13} "
              f"{_span([w for r in runs for w in r['wall_s']]):>17} "
              f"{_span([statistics.median(r['call_s']) for r in runs]):>14}  {statuses}")


# -- the run -------------------------------------------------------------------------------------
def rounds_for(body: bytes, rounds: int) -> int:
    """Rounds of one body: `rounds`, or `SMALL_BODY_ROUNDS` if more for a body under 1 MiB."""
    return max(rounds, SMALL_BODY_ROUNDS) if len(body) < LARGE_BYTES else rounds


def run_scaling(workers: int | None, rounds: int = ROUNDS) -> dict[str, Any]:
    bodies = scaling_bodies()
    count = workers or default_workers()
    service, service_addr = start_service(count)
    floor, floor_addr = start_floor(count)
    results: list[BodyResult] = []
    try:
        for master in (service.pid, floor.pid):
            _wait_for_workers(master, count)
        endpoints = ((service_addr, service.pid), (floor_addr, floor.pid))
        for name, unrelated, resources, body in bodies:
            results.append(measure_body(*endpoints, name, unrelated, resources, body,
                                        rounds_for(body, rounds)))
            print(f"  scaling {name}: done", file=sys.stderr)
    finally:
        stop_process_group(service)
        stop_process_group(floor)
    memory_body = next(body for _, n, _, body in bodies if n == MEMORY_BODY_EXTRA)
    memory = {
        "service": memory_under_concurrency(lambda: start_service(1), memory_body),
        "floor": memory_under_concurrency(lambda: start_floor(1), memory_body),
        "body_bytes": len(memory_body),
    }
    return {"bodies": [{**asdict(r), "service_median_cpu_ms": round(r.service, 3),
                        "floor_median_cpu_ms": round(r.floor, 3), "ratio": round(r.ratio, 2)}
                       for r in results],
            "slopes": slopes(results), "memory": memory,
            "max_request_bytes": ServiceConfig().max_request_bytes,
            "checks": checks(results, memory)}


def slopes(results: list[BodyResult]) -> dict[str, dict[str, float]]:
    """Service and floor CPU per added resource (microseconds) of each body of the series,
    against the bench patient."""
    series = [r for r in results if r.unrelated is not None]
    base = next(r for r in series if r.unrelated == 0)
    out = {}
    for r in series:
        if r.unrelated:
            out[r.name] = {
                "mib": round(r.bytes / 2**20, 2),
                "service_us": round((r.service - base.service) * 1000 / r.unrelated, 2),
                "floor_us": round((r.floor - base.floor) * 1000 / r.unrelated, 2)}
    return out


def checks(results: list[BodyResult], memory: dict[str, Any]) -> dict[str, dict[str, Any]]:
    base = next(r for r in results if r.unrelated == 0)
    large = [r for r in results if r.bytes >= LARGE_BYTES]
    worst_large = max(large, key=lambda r: r.ratio)
    per_resource = [v["service_us"] for k, v in slopes(results).items()
                    if v["mib"] * 2**20 >= LARGE_BYTES]
    mean = statistics.fmean(per_resource)
    spread = max(abs(v - mean) / mean for v in per_resource)
    service_memory = memory["service"]
    returned = service_memory["after_mb"] - service_memory["before_mb"]
    non_2xx = sum(n for r in results for code, n in r.statuses.items() if code != "200")
    return {
        "service CPU <= 3 x floor at the bench patient": {
            "met": base.ratio <= TARGET_RATIO_BENCH_PATIENT,
            "measured": f"{base.ratio:.2f} x ({base.service:.2f} / {base.floor:.2f} ms)"},
        "service CPU <= 1.5 x floor at >= 1 MiB": {
            "met": worst_large.ratio <= TARGET_RATIO_LARGE,
            "measured": f"worst {worst_large.ratio:.2f} x ({worst_large.name})"},
        "cost per added resource constant within +/-10 % (1-26 MiB)": {
            "met": spread <= TARGET_SLOPE_SPREAD,
            "measured": f"{min(per_resource):.1f}-{max(per_resource):.1f} us/resource, "
                        f"+/-{spread * 100:.0f} % of the mean"},
        "peak RSS <= 150 MB, 4 concurrent 4 MiB calls": {
            "met": service_memory["peak_mb"] <= TARGET_PEAK_RSS_MB,
            "measured": f"{service_memory['peak_mb']} MB"},
        "memory returned after the calls (within 20 MB)": {
            "met": returned <= RETURNED_MARGIN_MB,
            "measured": f"{service_memory['before_mb']} -> {service_memory['after_mb']} MB"},
        "every scaling call answered 200": {"met": non_2xx == 0,
                                            "measured": f"{non_2xx} not 200"},
    }


def print_report(report: dict[str, Any]) -> None:
    print(f"\n{'body':40} {'resources':>9} {'MiB':>6} {'service ms CPU/call':>22} "
          f"{'floor ms CPU/call':>20} {'ratio':>6} {'p50 svc/floor ms':>17}")
    for r in report["bodies"]:
        svc, flo = r["service_cpu_ms"], r["floor_cpu_ms"]
        print(f"{r['name']:40} {r['resources']:9d} {r['bytes'] / 2**20:6.2f} "
              f"{min(svc):10.2f}-{max(svc):<10.2f} {min(flo):9.2f}-{max(flo):<9.2f} "
              f"{r['ratio']:6.2f} {r['service_p50_ms']:8.1f}/{r['floor_p50_ms']:<8.1f}")
    print(f"\n{'cost per added Observation':40} {'MiB':>6} {'service us':>11} {'floor us':>9}")
    for name, s in report["slopes"].items():
        print(f"{name:40} {s['mib']:6.2f} {s['service_us']:11.1f} {s['floor_us']:9.1f}")
    mem = report["memory"]
    print(f"\n4 concurrent {mem['body_bytes'] / 2**20:.1f} MiB calls, one worker (MB before/peak/"
          f"after): service {mem['service']['before_mb']}/{mem['service']['peak_mb']}/"
          f"{mem['service']['after_mb']}, floor {mem['floor']['before_mb']}/"
          f"{mem['floor']['peak_mb']}/{mem['floor']['after_mb']}")
    print(f"body limit: {report['max_request_bytes']} bytes "
          f"({report['max_request_bytes'] / 2**20:.0f} MiB)")
    for name, check in report["checks"].items():
        print(f"  [{'MET' if check['met'] else 'MISSED'}] {name}: {check['measured']}")
