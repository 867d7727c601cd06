"""One way to open the service database and create its tables.

SQLite (the default) gets WAL, synchronous=FULL and a busy timeout, because several gunicorn
workers write to the same file and an acknowledged write must survive a crash. Any other
SQLAlchemy URL (PostgreSQL) gets a pre-ping pool. The tables are made and upgraded by the Alembic
migrations (`prepare_schema`, `cds_service.storage.migrations`), under a lock: several workers and
instances starting at once on a new database do not race.

Two commit policies (`wait_for_disk`):
- durable (the default): a commit returns once the data is on disk (SQLite synchronous=FULL,
  PostgreSQL's default synchronous_commit=on). Used for everything acknowledged to a client
  (feedback) and for security state (the JWT replay cache).
- relaxed: a commit survives a crash of the process but may be lost with the last moments before
  a power failure or OS crash (SQLite WAL + synchronous=NORMAL on an engine of its own;
  PostgreSQL `SET LOCAL synchronous_commit TO OFF` in each such transaction,
  `relaxed_transaction`, which never corrupts, only loses the last commits, and never outlives
  its transaction — so not even a transaction-pooling proxy can carry it to another one). Used
  only for the service's own bookkeeping written on every hook call (which cards were issued):
  there an fsync per call serialises the workers on the disk (docs/performance.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.url import make_url

SQLITE_BUSY_TIMEOUT_MS = 10000
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def _sqlite_pragmas(synchronous: str) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    return on_connect


def open_engine(url: str, *, wait_for_disk: bool = True) -> Engine:
    """An engine whose commits are durable (`wait_for_disk`) or relaxed (see the module doc)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend != "sqlite":
        if wait_for_disk:
            return create_engine(url, pool_pre_ping=True)
        # one writer thread per process uses it: no need for a full pool
        return create_engine(url, pool_pre_ping=True, pool_size=1, max_overflow=2)
    database = parsed.database
    if database and database != ":memory:":
        make_private(database)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _sqlite_pragmas("FULL" if wait_for_disk else "NORMAL"))
    return engine


def make_private(database: str) -> None:
    """The SQLite file holds the cookie-signing key, PKCE verifiers, patient ids and free-text
    feedback: readable by its owner only (0600; SQLite gives its -wal and -shm files the same
    mode), in a directory the service creates 0700. A file or directory that already exists with
    wider permissions is narrowed (issue 16, item 13)."""
    path = os.path.abspath(database)
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, mode=PRIVATE_DIR_MODE, exist_ok=True)
        os.chmod(directory, PRIVATE_DIR_MODE)  # makedirs' mode is filtered by the umask
    fd = os.open(path, os.O_CREAT | os.O_RDWR, PRIVATE_FILE_MODE)
    os.close(fd)
    for existing in (path, f"{path}-wal", f"{path}-shm"):
        if os.path.exists(existing) and os.stat(existing).st_mode & 0o077:
            os.chmod(existing, PRIVATE_FILE_MODE)


@contextmanager
def relaxed_transaction(engine: Engine) -> Iterator[Connection]:
    """`engine.begin()` with relaxed commits (see the module doc): SQLite gets them from the
    engine (`open_engine(..., wait_for_disk=False)`), PostgreSQL from `SET LOCAL`."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
        yield conn


def prepare_schema(engine: Engine) -> None:
    """Bring the database to the service's schema: the Alembic migrations of
    `cds_service.storage.migrations` (no `create_all`). Each store calls it when it opens; after the first
    it finds the head and returns without taking the migration lock."""
    from cds_service.storage import migrations  # Alembic is loaded only by what opens a database

    migrations.upgrade(engine)
