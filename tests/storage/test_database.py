"""The service database: start-up of several workers on a new file, durable settings."""

import multiprocessing as mp

from sqlalchemy import text

from cds_service.storage.database import open_engine


def _open_everything(url: str) -> str:
    from cds_service.security.replay import ReplayCache
    from cds_service.smart.session_store import SmartStore
    from cds_service.storage.feedback_store import FeedbackStore

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


def test_feedback_commits_durably_and_issued_cards_relaxed_on_sqlite(tmp_path) -> None:
    """Feedback (acknowledged to the EHR) waits for the disk; the per-call issued-cards
    bookkeeping only survives a process crash (WAL + NORMAL), and lands in the same file."""
    from cds_service.storage.feedback_store import FeedbackStore

    store = FeedbackStore.open(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    try:
        with store.engine.connect() as conn:
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        with store.issued_cards_engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
        store.record_issued_cards("bcbm-salvage", "hook-1", [
            {"uuid": "card-1", "indicator": "warning", "source": {"topic": {"code": "srs"}}}])
        store.add_feedback("bcbm-salvage", [{"card": "card-1", "outcome": "accepted",
                                             "outcomeTimestamp": "2026-11-28T10:00:00Z"}])
        report = {t.topic_code: t for t in store.topic_report()}
        assert report["srs"].issued == 1 and report["srs"].accepted == 1
    finally:
        store.close()


def test_in_memory_sqlite_keeps_one_engine() -> None:
    """Two engines on ':memory:' would be two databases: the store shares one."""
    from cds_service.storage.feedback_store import FeedbackStore

    store = FeedbackStore.open("sqlite://")
    try:
        assert store.issued_cards_engine is store.engine
        store.record_issued_cards("bcbm-salvage", "hook-1", [
            {"uuid": "card-1", "indicator": "info", "source": {"topic": {"code": "x"}}}])
        assert [t.issued for t in store.topic_report()] == [1]
    finally:
        store.close()


def test_sqlite_file_and_its_new_directory_are_private(tmp_path) -> None:
    """It holds the cookie-signing key, PKCE verifiers, patient ids and free-text feedback:
    0600 and, when the service creates it, a 0700 directory (issue 16, item 13)."""
    import os
    import stat

    from cds_service.storage.feedback_store import FeedbackStore

    old_umask = os.umask(0o022)  # a typical umask: files 0644, directories 0755 by default
    try:
        database = tmp_path / "new-dir" / "service.sqlite3"
        store = FeedbackStore.open(f"sqlite:///{database}")
        store.close()
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(os.stat(database).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(database.parent).st_mode) == 0o700
    for journal in database.parent.glob("service.sqlite3-*"):
        assert stat.S_IMODE(os.stat(journal).st_mode) & 0o077 == 0, journal


def test_an_existing_world_readable_sqlite_file_is_narrowed(tmp_path) -> None:
    import os
    import stat

    database = tmp_path / "old.sqlite3"
    database.touch(mode=0o644)
    os.chmod(database, 0o644)
    open_engine(f"sqlite:///{database}").dispose()
    assert stat.S_IMODE(os.stat(database).st_mode) == 0o600
