"""One way to open the service database and create its tables.

SQLite (the default) gets WAL, synchronous=FULL and a busy timeout, because several gunicorn
workers write to the same file and an acknowledged write must survive a crash. Any other
SQLAlchemy URL (PostgreSQL) gets a pre-ping pool. Table creation tolerates the race of several
workers creating the same tables on a new database at start-up.
"""

from __future__ import annotations

import os
import time
from typing import Any

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

SQLITE_BUSY_TIMEOUT_MS = 10000
CREATE_ATTEMPTS = 5
CREATE_RETRY_S = 0.2


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def open_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    database = parsed.database
    if database and database != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(database)), exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def create_tables(metadata: MetaData, engine: Engine) -> None:
    """CREATE TABLE IF NOT EXISTS, retried: a worker that lost the race sees the tables next time."""
    for attempt in range(CREATE_ATTEMPTS):
        try:
            metadata.create_all(engine)
            return
        except (OperationalError, ProgrammingError):
            if attempt == CREATE_ATTEMPTS - 1:
                raise
            time.sleep(CREATE_RETRY_S * (attempt + 1))
