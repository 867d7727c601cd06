"""The service database: start-up of several workers on a new file, durable settings."""

import multiprocessing as mp

from sqlalchemy import text

from cds_service.database import open_engine


def _open_everything(url: str) -> str:
    from cds_service.feedback_store import FeedbackStore
    from cds_service.security.replay import ReplayCache
    from cds_service.smart.session_store import SmartStore

    store = FeedbackStore.open(url)
    SmartStore.open(store.engine, "k" * 32)
    ReplayCache.open(url).close()
    store.close()
    return "ok"


def test_workers_creating_tables_at_once_all_start(tmp_path) -> None:
    """gunicorn starts its workers together: the CREATE TABLE race must not kill any of them."""
    for attempt in range(3):
        url = f"sqlite:///{tmp_path / f'race-{attempt}.sqlite3'}"
        with mp.get_context("spawn").Pool(4) as pool:
            assert pool.map(_open_everything, [url] * 8) == ["ok"] * 8


def test_sqlite_is_opened_durably(tmp_path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'sub' / 'dir' / 'db.sqlite3'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
    engine.dispose()
