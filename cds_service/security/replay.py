"""The `jti` replay cache: each CDS client JWT is accepted once, across every worker process.

gunicorn runs several worker processes, so an in-memory set would let a replayed token through any
worker that has not seen it. The cache lives in the service's database instead (the same SQLAlchemy
URL as the feedback store: SQLite by default, PostgreSQL in production) as a table whose primary
key is a hash of ``iss`` + ``jti``: recording a token is a plain INSERT, and the database's
uniqueness check — atomic across processes and machines — is what refuses the second use.

Rows are kept until the token's ``exp`` plus the clock leeway (the authenticator refuses tokens that
live longer than ``jti_cache_seconds``), so a token cannot be replayed while it could still be
accepted. Expired rows are purged at most once per ``purge_interval_s`` per process.
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

from sqlalchemy import Column, Float, MetaData, String, Table, delete, insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from cds_service.storage.database import open_engine, prepare_schema

metadata = MetaData()

replay_table = Table(
    "jwt_replay_cache",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # sha256(iss NUL jti), hex
    Column("expires_at", Float, nullable=False, index=True),  # epoch seconds
)


def token_hash(iss: str, jti: str) -> str:
    return hashlib.sha256(f"{iss}\x00{jti}".encode("utf-8", "surrogatepass")).hexdigest()


class ReplayCache:
    def __init__(self, engine: Engine, *, purge_interval_s: float = 60.0) -> None:
        self.engine = engine
        self.purge_interval_s = purge_interval_s
        self._last_purge = 0.0
        self._lock = threading.Lock()
        prepare_schema(engine)  # the Alembic migrations (cds_service/storage/migrations)

    @classmethod
    def open(cls, url: str, **kwargs: Any) -> ReplayCache:
        return cls(open_engine(url), **kwargs)

    def close(self) -> None:
        self.engine.dispose()

    def first_use(self, iss: str, jti: str, expires_at: float, *, now: float | None = None) -> bool:
        """Record the token; True the first time, False for a replay (while the row lives).

        Raises SQLAlchemy errors when the database is unavailable: the caller refuses the token.
        """
        now = time.time() if now is None else now
        self._maybe_purge(now)
        key = token_hash(iss, jti)
        for _attempt in range(2):
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(replay_table).values(token_hash=key, expires_at=expires_at))
                return True
            except IntegrityError:
                # Taken. If only by an expired row the purge has not reached yet, drop it and retry.
                with self.engine.begin() as conn:
                    removed = conn.execute(
                        delete(replay_table).where(replay_table.c.token_hash == key,
                                                   replay_table.c.expires_at < now)
                    ).rowcount
                if not removed:
                    return False
        return False

    def purge(self, now: float | None = None) -> int:
        """Delete expired rows; returns how many."""
        now = time.time() if now is None else now
        with self.engine.begin() as conn:
            return conn.execute(delete(replay_table).where(replay_table.c.expires_at < now)).rowcount

    def _maybe_purge(self, now: float) -> None:
        with self._lock:
            if now - self._last_purge < self.purge_interval_s:
                return
            self._last_purge = now
        self.purge(now)
