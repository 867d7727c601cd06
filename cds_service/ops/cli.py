"""The `salvage-cds` command: serve the service with gunicorn, migrate its database, report
feedback, load demo data."""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import multiprocessing
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cds_service import __version__
from cds_service.config import ServiceConfig

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_THREADS = 4
WILDCARD_HOSTS = ("0.0.0.0", "::", "[::]", "")


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """`--help` shows each option's default, except where there is none (None, a flag)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False) or action.default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)


def default_workers() -> int:
    # gunicorn's documented rule of thumb: (2 x cores) + 1.
    return 2 * multiprocessing.cpu_count() + 1


# Collector thresholds of a worker: young collections every 50,000 new containers instead of 700,
# full ones after 100 middle ones instead of 10. A hook call builds a large acyclic tree (the
# parsed body, the mapped record) that the default thresholds traversed again and again as it
# grew, a cost per resource that grew with the body (docs/performance.md).
GC_THRESHOLDS = (50_000, 20, 100)


def freeze_startup_objects() -> None:
    """Move everything built at start-up (the app, the fhir.resources/pydantic models, compiled
    schemas and templates) out of the garbage collector's reach, so that full collections no longer
    traverse them; then space collections out (`GC_THRESHOLDS`). Nothing is cached by this; it
    only affects GC work (docs/performance.md)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


# How a worker's glibc malloc keeps the large blocks of a big request body (its bytes and text,
# the server's read buffers) — beyond the review: glibc's mallopt(3), chosen by measurement
# (docs/performance.md, fourth and sixth rounds):
# - one arena for all of the worker's threads (glibc's default: 8 per core). malloc_trim gives
#   back the free top of the main arena only, so blocks freed in a thread's own arena stayed
#   with the process;
# - blocks up to 32 MiB (glibc's own ceiling for its adaptive threshold) from that arena rather
#   than mapped one by one, and freed memory never trimmed on the spot: the next large call
#   reuses it instead of the kernel mapping and zeroing fresh pages (about 1,700 page faults a
#   call at 1.3 MiB). The worker gives it all back itself once its large calls stop
#   (`cds_service.web.http_json.IdleRelease`).
MALLOC_ARENAS = 1
MALLOC_MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024
MALLOC_TRIM_THRESHOLD_BYTES = 2**31 - 1  # the largest the int parameter takes: trim never
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8  # mallopt's parameters (malloc.h)


def tune_malloc() -> bool:
    """Set glibc's malloc for a worker (above) before its threads start: True when it took every
    setting. Nothing on another C library, and never a failure to start."""
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    taken = [mallopt(_M_ARENA_MAX, MALLOC_ARENAS),
             mallopt(_M_MMAP_THRESHOLD, MALLOC_MMAP_THRESHOLD_BYTES),
             mallopt(_M_TRIM_THRESHOLD, MALLOC_TRIM_THRESHOLD_BYTES)]
    return all(result == 1 for result in taken)  # mallopt: 1 taken, 0 refused


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="salvage-cds", description=__doc__,
                                     formatter_class=DefaultsHelpFormatter)
    parser.add_argument("--version", action="version", version=f"salvage-cds {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="start the CDS service with gunicorn",
                           formatter_class=DefaultsHelpFormatter)
    serve.add_argument("--host", default=DEFAULT_HOST, help="address to listen on")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to listen on")
    serve.add_argument("--workers", type=int, default=None,
                       help=f"gunicorn workers; unset: 2 x cores + 1 = {default_workers()} here")
    serve.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="threads per worker")
    serve.add_argument("--dev", action="store_true",
                       help="local demos only: turn CDS client authentication OFF")
    serve.add_argument("--metrics-port", type=int, default=None,
                       help="serve Prometheus metrics on this port (off when unset; never on "
                            "the service's port)")
    serve.add_argument("--metrics-host", default=DEFAULT_HOST,
                       help="address of the metrics port")
    serve.add_argument("--metrics-dir", default=None,
                       help="directory for the workers' metric files; unset: a new temporary one")

    report = sub.add_parser("feedback-report", help="acceptance/override rates per card topic",
                            formatter_class=DefaultsHelpFormatter)
    report.add_argument("--database-url", default=None,
                        help="SQLAlchemy URL; unset: SALVAGE_CDS_DATABASE_URL or "
                             f"{ServiceConfig().database_url}")
    add_db_parser(sub)
    add_demo_parser(sub)
    add_client_parsers(sub)
    return parser


DB_HELP = """\
The service's tables are made and changed by Alembic migrations shipped in the package
(cds_service/storage/migrations; no alembic.ini needed). `serve` runs `db upgrade` itself at start, under
a lock (PostgreSQL advisory lock, flock of a SQLite file), so several instances may start at once.
A database made by salvage-cds 0.1.0 (its tables, no alembic_version) is checked against that
release's tables and stamped, never re-created; one that differs is left untouched and named."""


def add_db_parser(sub: Any) -> None:
    db = sub.add_parser("db", help="the database schema: Alembic migrations",
                        description=DB_HELP, formatter_class=DefaultsHelpFormatter)
    actions = db.add_subparsers(dest="db_command", required=True)
    for name, help_text in (("upgrade", "migrate the database to the newest schema (idempotent)"),
                            ("current", "print the database's schema revision and the newest")):
        action = actions.add_parser(name, help=help_text, formatter_class=DefaultsHelpFormatter)
        action.add_argument("--database-url", default=None,
                            help="SQLAlchemy URL; unset: SALVAGE_CDS_DATABASE_URL or "
                                 f"{ServiceConfig().database_url}")


def add_client_parsers(sub: Any) -> None:
    client = sub.add_parser("client", help="trusted CDS clients", formatter_class=DefaultsHelpFormatter)
    actions = client.add_subparsers(dest="client_command", required=True)
    new = actions.add_parser("new", help="a key pair, its JWK Set and the clients-file entry",
                             formatter_class=DefaultsHelpFormatter)
    new.add_argument("--iss", required=True, help="the client's issuer URL (JWT iss)")
    new.add_argument("--out", default=".", help="directory for the key files")
    new.add_argument("--name", default=None, help="the client's name; unset: from --iss")
    new.add_argument("--alg", default="ES384", choices=("ES384", "RS384"),
                     help="signing algorithm")
    token = sub.add_parser("token", help="sign a test CDS client JWT for one endpoint",
                           formatter_class=DefaultsHelpFormatter)
    token.add_argument("--key", required=True, help="private key PEM (from `client new`)")
    token.add_argument("--aud", required=True,
                       help="the endpoint URL, e.g. https://cds.example.org/cds-services")
    token.add_argument("--iss", default=None,
                       help="issuer; unset: from the .client.json beside the key")
    token.add_argument("--lifetime", type=int, default=300, help="seconds until exp")
    token.add_argument("--tenant", default=None, help="tenant claim")
    sub.add_parser("check-config", help="check the SALVAGE_CDS_* settings and the clients file; "
                   "one line per problem", formatter_class=DefaultsHelpFormatter)


def add_demo_parser(sub: Any) -> None:
    demo = sub.add_parser("demo", help="synthetic demo patients for any FHIR R4 server",
                          formatter_class=DefaultsHelpFormatter)
    actions = demo.add_subparsers(dest="demo_command", required=True)
    load = actions.add_parser(
        "load", help="write the synthetic patients into a FHIR server (idempotent: PUT by id)",
        formatter_class=DefaultsHelpFormatter)
    load.add_argument("--fhir", required=True, help="FHIR R4 base URL")
    load.add_argument("--token", default=None, help="bearer token for the FHIR server")
    load.add_argument("--service", default=f"http://{DEFAULT_HOST}:{DEFAULT_PORT}",
                      help="this service's base URL, for the printed curl commands")
    request = actions.add_parser(
        "request", help="print a patient-view request with prefetch read from a FHIR server",
        formatter_class=DefaultsHelpFormatter)
    request.add_argument("patient", help="patient id or demo patient name")
    request.add_argument("--fhir", required=True, help="FHIR R4 base URL")
    request.add_argument("--token", default=None, help="bearer token for the FHIR server")


def close_worker_app(_arbiter: Any, worker: Any) -> None:
    """gunicorn `worker_exit`: write the queued bookkeeping and close the stores of the worker's
    app before the process ends."""
    app = getattr(worker, "wsgi", None)
    services = getattr(app, "extensions", {}).get("salvage_cds") if app is not None else None
    if services is not None:
        services.close()


def derived_base_url(host: str, port: int) -> str:
    """The public base URL when SALVAGE_CDS_PUBLIC_BASE_URL is unset; a wildcard address is no
    URL a client can reach (JWT `aud` and SMART links would be wrong): say so."""
    if host in WILDCARD_HOSTS:
        shown = host or "''"
        print(f"WARNING: --host {shown} listens on every address, but the public base URL "
              f"is then derived as http://{host_in_url(host)}:{port}, which clients cannot use "
              "(JWT aud, SMART links). Set SALVAGE_CDS_PUBLIC_BASE_URL to the URL clients call.",
              file=sys.stderr)
    return f"http://{host_in_url(host)}:{port}"


def host_in_url(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def prepare_metrics(args: argparse.Namespace) -> None:
    """Before anything imports prometheus_client: the multi-process directory (see
    cds_service/metrics.py)."""
    if args.metrics_port is None:
        return
    directory = args.metrics_dir or tempfile.mkdtemp(prefix="salvage-cds-metrics-")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    for name in os.listdir(directory):  # samples of an earlier run are not this run's
        if name.endswith(".db"):
            os.remove(os.path.join(directory, name))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory


def metrics_hooks(args: argparse.Namespace) -> dict[str, Any]:
    """gunicorn server hooks: the master serves the metrics; a dead worker's gauges go."""
    if args.metrics_port is None:
        return {}
    # here, not at the top: prometheus_client reads PROMETHEUS_MULTIPROC_DIR when first imported,
    # and `serve` sets it first (prepare_metrics)
    from cds_service.metrics import start_exporter, worker_gone

    def when_ready(_arbiter: Any) -> None:
        start_exporter(args.metrics_host, args.metrics_port)

    def child_exit(_arbiter: Any, worker: Any) -> None:
        worker_gone(worker.pid)

    return {"when_ready": when_ready, "child_exit": child_exit}


def serve(args: argparse.Namespace) -> int:
    prepare_metrics(args)
    warn_unknown_variables()
    # after prepare_metrics (the app imports prometheus_client); and only `serve` loads gunicorn
    # and Flask: the other commands start without them
    from gunicorn.app.base import BaseApplication

    from cds_service.config import ENV_PREFIX
    from cds_service.web.app import create_app

    overrides: dict[str, Any] = {}
    if args.dev:
        overrides["auth_required"] = False
    if ENV_PREFIX + "PUBLIC_BASE_URL" not in os.environ:
        overrides["public_base_url"] = derived_base_url(args.host, args.port)
    config = ServiceConfig.from_env(**overrides)
    if args.dev:
        print("WARNING: --dev: CDS client authentication is OFF. Never use this with real data.",
              file=sys.stderr)
    if migrate(config.database_url, "serve") != 0:  # once, before the workers start
        return 1

    class Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{args.host}:{args.port}")
            self.cfg.set("workers", args.workers or default_workers())
            self.cfg.set("threads", args.threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("timeout", int(config.request_budget_s) + 10)
            self.cfg.set("accesslog", None)  # our own PHI-safe request log replaces it
            self.cfg.set("worker_exit", close_worker_app)
            # request line and header limits (one home: config.py); gunicorn's refusals are JSON
            self.cfg.set("limit_request_line", config.max_request_line)
            self.cfg.set("limit_request_field_size", config.max_request_field_bytes)
            self.cfg.set("limit_request_fields", config.max_request_fields)
            for hook, function in metrics_hooks(args).items():
                self.cfg.set(hook, function)
            # gunicorn >= 27 opens a control socket at one path per user (~/.gunicorn/): two
            # instances on one host would take it from each other, and nothing here uses it
            if "control_socket_disable" in self.cfg.settings:
                self.cfg.set("control_socket_disable", True)

        def load(self) -> Any:
            tune_malloc()
            app = create_app(config)
            freeze_startup_objects()
            return app

    from cds_service.security import gunicorn_errors  # only `serve` loads gunicorn

    gunicorn_errors.install()  # before the workers fork
    Server().run()
    return 0


def missing_database(url: str) -> str | None:
    """Why the report cannot be made from `url` (a SQLite file that does not exist), or None.
    Opening it would create an empty database and report nothing, silently."""
    from sqlalchemy.engine.url import make_url  # only feedback-report loads SQLAlchemy

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database).resolve()
    if path.exists():
        return None
    return (f"no database at {path}: nothing has been recorded there. Run the report where the "
            "service runs, or name its database with --database-url or SALVAGE_CDS_DATABASE_URL.")


def feedback_report(args: argparse.Namespace) -> int:
    # only feedback-report loads SQLAlchemy and the store
    from sqlalchemy.engine.url import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from cds_service.storage.feedback_store import FeedbackStore

    url = args.database_url or ServiceConfig.from_env().database_url
    problem = missing_database(url)
    if problem:
        print(f"salvage-cds feedback-report: {problem}", file=sys.stderr)
        return 1
    try:
        store = FeedbackStore.open(url)
        try:
            rows = store.topic_report()
        finally:
            store.close()
    except SQLAlchemyError as exc:
        shown = make_url(url).render_as_string(hide_password=True)
        print(f"salvage-cds feedback-report: cannot read {shown}: {type(exc).__name__}",
              file=sys.stderr)
        return 1
    print(f"{'card topic':40} {'issued':>7} {'accepted':>9} {'overridden':>11} {'accept %':>9}")
    for row in rows:
        rate = "-" if row.acceptance_rate is None else f"{100 * row.acceptance_rate:.0f}"
        print(f"{row.topic_code:40} {row.issued:>7} {row.accepted:>9} {row.overridden:>11} "
              f"{rate:>9}")
    return 0


def migrate(url: str, command: str) -> int:
    """Upgrade the database at `url` to the newest revision; 1 with the reason on stderr."""
    # here, not at the top: only the db commands and `serve` load SQLAlchemy and Alembic
    from sqlalchemy.engine.url import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from cds_service.storage import migrations
    from cds_service.storage.database import open_engine

    shown = make_url(url).render_as_string(hide_password=True)
    engine = open_engine(url)
    try:
        done = migrations.upgrade(engine)
    except migrations.SchemaMismatch as exc:
        print(f"salvage-cds {command}: {shown}: {exc}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        print(f"salvage-cds {command}: cannot migrate {shown}: {type(exc).__name__}: "
              f"{_first_line(exc)}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(f"database {shown}: {done.describe()}", file=sys.stderr if command == "serve" else None)
    return 0


def _first_line(exc: Exception) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


def db_current(url: str) -> int:
    # here, not at the top: only the db commands load SQLAlchemy and Alembic
    from sqlalchemy.engine.url import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from cds_service.storage import migrations
    from cds_service.storage.database import open_engine

    shown = make_url(url).render_as_string(hide_password=True)
    engine = open_engine(url)
    try:
        revision = migrations.current(engine)
        unversioned = revision is None and migrations.is_unversioned_release(engine)
    except SQLAlchemyError as exc:
        print(f"salvage-cds db current: cannot read {shown}: {type(exc).__name__}: "
              f"{_first_line(exc)}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    head = migrations.head()
    if unversioned:
        state = "none: tables of salvage-cds 0.1.0 without alembic_version (`db upgrade` stamps it)"
    elif revision is None:
        state = "none: empty database"
    else:
        state = revision + (" (head)" if revision == head else " (behind: run `db upgrade`)")
    print(f"current: {state}")
    print(f"head: {head}")
    return 0


def run_db(args: argparse.Namespace) -> int:
    url = args.database_url or ServiceConfig.from_env().database_url
    if args.db_command == "upgrade":
        return migrate(url, "db upgrade")
    if missing_database(url):  # reading must not create an empty SQLite file
        from cds_service.storage import migrations  # only the db commands load Alembic

        print("current: none: no database file yet (`db upgrade` or the service's start makes it)")
        print(f"head: {migrations.head()}")
        return 0
    return db_current(url)


def demo_load(args: argparse.Namespace) -> int:
    from cds_service.ops.demo import sandbox  # only the demo commands load the sandbox client

    base = sandbox.check_base_url(args.fhir)
    for patient, count in sandbox.load_all(base, args.token):
        scope = "in scope" if patient.in_scope else "silent"
        print(f"{patient.patient_id:24} {patient.situation:42} {scope:8} {count:3} resources  "
              f"# {patient.summary}")
        request = sandbox.hook_request_without_prefetch(patient.patient_id, base,
                                                        with_token=bool(args.token))
        print("  " + sandbox.curl_command(args.service, "bcbm-salvage", request))
    if args.token:
        print("# the curl commands read the FHIR token from $FHIR_TOKEN", file=sys.stderr)
    print("# the service must allow this FHIR server: SALVAGE_CDS_FHIR_ALLOWLIST", file=sys.stderr)
    return 0


def demo_request(args: argparse.Namespace) -> int:
    # only the demo commands load the sandbox client
    from cds_service.assessment.queries import PATIENT_DATA_PREFETCH
    from cds_service.ops.demo import find, sandbox

    base = sandbox.check_base_url(args.fhir)
    known = find(args.patient)
    patient_id = known.patient_id if known else args.patient
    request = sandbox.hook_request_with_prefetch(base, patient_id, PATIENT_DATA_PREFETCH,
                                                 args.token)
    print(json.dumps(request, indent=2, ensure_ascii=False))
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from cds_service.ops.demo.sandbox import SandboxError  # only the demo commands load it

    try:
        return demo_load(args) if args.demo_command == "load" else demo_request(args)
    except SandboxError as exc:
        print(f"salvage-cds demo {args.demo_command}: {exc}", file=sys.stderr)
        return 1


def client_new(args: argparse.Namespace) -> int:
    # only the key commands load the cryptography they need
    from cds_service.ops.client_keys import ClientKeyError, new_client

    try:
        made = new_client(args.iss, Path(args.out), name=args.name, alg=args.alg)
    except ClientKeyError as exc:
        print(f"salvage-cds client new: {exc}", file=sys.stderr)
        return 1
    print(f"# private key (keep it with the EHR, never on the service): {made.private_key}",
          file=sys.stderr)
    print(f"# JWK Set (public, for the service): {made.jwks}", file=sys.stderr)
    print("# add this entry to the \"clients\" list of SALVAGE_CDS_JWT_CLIENTS_FILE:",
          file=sys.stderr)
    print(json.dumps(made.entry, indent=2))
    return 0


def token(args: argparse.Namespace) -> int:
    # only the key commands load the cryptography they need
    from cds_service.ops.client_keys import ClientKeyError, sign_token

    try:
        print(sign_token(Path(args.key), args.aud, iss=args.iss, lifetime_s=args.lifetime,
                         tenant=args.tenant))
    except ClientKeyError as exc:
        print(f"salvage-cds token: {exc}", file=sys.stderr)
        return 1
    return 0


def check_config(_args: argparse.Namespace) -> int:
    # the configuration check loads the security and FHIR modules it checks: only when asked
    from cds_service.ops.config_check import config_problems, unknown_variables

    warnings = unknown_variables(os.environ)
    problems = config_problems(os.environ)
    for line in warnings:
        print(f"warning: {line}")
    for line in problems:
        print(f"problem: {line}")
    if not problems:
        print("configuration OK" + (f" ({len(warnings)} warning{'s' * (len(warnings) != 1)})"
                                     if warnings else ""))
    return 1 if problems else 0


def warn_unknown_variables() -> None:
    # the configuration check loads the security and FHIR modules it checks: only when asked
    from cds_service.ops.config_check import unknown_variables

    for line in unknown_variables(os.environ):
        print(f"WARNING: {line}", file=sys.stderr)


COMMANDS = {"serve": serve, "feedback-report": feedback_report, "db": run_db, "demo": run_demo,
            "client": client_new, "token": token, "check-config": check_config}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return COMMANDS[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
