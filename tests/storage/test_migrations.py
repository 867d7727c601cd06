"""Issue 17, item 5: the service's tables are made by Alembic migrations — on an empty SQLite file,
an empty PostgreSQL database, and a database made by the previous release (0.1.0, `create_all`,
no alembic_version) — and the migrations match the stores' SQLAlchemy tables."""

from __future__ import annotations

import fnmatch
import subprocess
import sys
import threading
import tomllib
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, inspect, text
from sqlalchemy.engine import Engine

from cds_service.storage import migrations
from cds_service.storage.database import open_engine
from cds_service.storage.feedback_store import FeedbackStore
from tests.conftest import ROOT
from tests.support.postgres_server import start_postgres
from tests.support.processes import free_port

SERVICE_TABLES = {"feedback", "issued_cards", "smart_launches", "smart_sessions", "smart_keys",
                  "jwt_replay_cache"}

# What salvage-cds 0.1.0 (commit b98d395) created with `MetaData.create_all`, statement for
# statement as SQLAlchemy emitted it for SQLite; PostgreSQL differed in two types (`_postgres`).
RELEASE_0_1_0_DDL = """
CREATE TABLE feedback (
    id INTEGER NOT NULL, service_id VARCHAR(128) NOT NULL, card_uuid VARCHAR(128) NOT NULL,
    outcome VARCHAR(16) NOT NULL, accepted_suggestions TEXT NOT NULL,
    override_reason_system VARCHAR(512), override_reason_code VARCHAR(128),
    override_reason_display VARCHAR(512), override_comment TEXT,
    outcome_timestamp VARCHAR(64) NOT NULL, received_at DATETIME NOT NULL,
    client_iss VARCHAR(512), status VARCHAR(16), dedup_key VARCHAR(64), PRIMARY KEY (id));
CREATE INDEX ix_feedback_card_uuid ON feedback (card_uuid);
CREATE INDEX ix_feedback_dedup_key ON feedback (dedup_key);
CREATE INDEX ix_feedback_service_id ON feedback (service_id);
CREATE TABLE issued_cards (
    id INTEGER NOT NULL, card_uuid VARCHAR(128) NOT NULL, service_id VARCHAR(128) NOT NULL,
    hook_instance VARCHAR(256) NOT NULL, topic_system VARCHAR(512), topic_code VARCHAR(128),
    indicator VARCHAR(16) NOT NULL, suggestion_uuids TEXT NOT NULL, issued_at DATETIME NOT NULL,
    client_iss VARCHAR(512), PRIMARY KEY (id));
CREATE INDEX ix_issued_cards_card_uuid ON issued_cards (card_uuid);
CREATE INDEX ix_issued_cards_hook_instance ON issued_cards (hook_instance);
CREATE TABLE smart_keys (name VARCHAR(64) NOT NULL, value VARCHAR(256) NOT NULL,
    PRIMARY KEY (name));
CREATE TABLE smart_launches (state_hash VARCHAR(64) NOT NULL, payload TEXT NOT NULL,
    expires_at FLOAT NOT NULL, PRIMARY KEY (state_hash));
CREATE INDEX ix_smart_launches_expires_at ON smart_launches (expires_at);
CREATE TABLE smart_sessions (
    id_hash VARCHAR(64) NOT NULL, fhir_base VARCHAR(2048) NOT NULL, patient_id VARCHAR(64) NOT NULL,
    scope TEXT NOT NULL, assessment_date VARCHAR(10), need_patient_banner BOOLEAN NOT NULL,
    token_ciphertext TEXT NOT NULL, created_at FLOAT NOT NULL, expires_at FLOAT NOT NULL,
    PRIMARY KEY (id_hash));
CREATE INDEX ix_smart_sessions_expires_at ON smart_sessions (expires_at);
CREATE TABLE jwt_replay_cache (token_hash VARCHAR(64) NOT NULL, expires_at FLOAT NOT NULL,
    PRIMARY KEY (token_hash));
CREATE INDEX ix_jwt_replay_cache_expires_at ON jwt_replay_cache (expires_at);
"""


def _postgres(ddl: str) -> str:
    return (ddl.replace("id INTEGER NOT NULL", "id SERIAL NOT NULL")
            .replace("DATETIME", "TIMESTAMP WITH TIME ZONE"))


def make_release_database(engine: Engine) -> None:
    """The previous release's tables with one feedback entry and one issued card in them."""
    ddl = RELEASE_0_1_0_DDL if engine.dialect.name == "sqlite" else _postgres(RELEASE_0_1_0_DDL)
    now = datetime(2026, 11, 28, 10, tzinfo=UTC)
    with engine.begin() as conn:
        for statement in filter(str.strip, ddl.split(";")):
            conn.exec_driver_sql(statement)
        conn.execute(text(
            "INSERT INTO issued_cards (card_uuid, service_id, hook_instance, topic_code, indicator,"
            " suggestion_uuids, issued_at, client_iss) VALUES ('old-card', 'bcbm-salvage', 'h1',"
            " 'old-topic', 'info', '[]', :now, 'https://ehr')"), {"now": now})
        conn.execute(text(
            "INSERT INTO feedback (service_id, card_uuid, outcome, accepted_suggestions,"
            " outcome_timestamp, received_at, client_iss, status, dedup_key) VALUES"
            " ('bcbm-salvage', 'old-card', 'accepted', '[]', '2026-11-28T10:00:00Z', :now,"
            " 'https://ehr', 'counted', 'k1')"), {"now": now})


def service_metadata() -> MetaData:
    """Every table the stores define, in one MetaData (what the migrations must produce)."""
    from cds_service.security.replay import metadata as replay
    from cds_service.smart.session_store import metadata as smart
    from cds_service.storage.feedback_store import metadata as feedback

    combined = MetaData()
    for metadata in (feedback, smart, replay):
        for table in metadata.tables.values():
            table.to_metadata(combined)
    return combined


def differences_from_the_stores(engine: Engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, service_metadata()))


def version_of(engine: Engine) -> str | None:
    return migrations.current(engine)


def assert_old_rows_readable(url: str) -> None:
    store = FeedbackStore.open(url)
    try:
        assert [r["outcome"] for r in store.feedback_for_card("old-card")] == ["accepted"]
        assert {t.topic_code: (t.issued, t.accepted) for t in store.topic_report()} == {
            "old-topic": (1, 1)}
    finally:
        store.close()


# -- SQLite ----------------------------------------------------------------------------------


def test_an_empty_sqlite_file_is_migrated_to_the_head(tmp_path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'new.sqlite3'}")
    try:
        assert version_of(engine) is None
        done = migrations.upgrade(engine)
        assert (done.before, done.after, done.adopted) == (None, migrations.head(), False)
        assert set(inspect(engine).get_table_names()) == SERVICE_TABLES | {"alembic_version"}
        assert version_of(engine) == migrations.head()
        assert differences_from_the_stores(engine) == []
        again = migrations.upgrade(engine)
        assert (again.before, again.after) == (migrations.head(), migrations.head())
    finally:
        engine.dispose()


def test_a_sqlite_file_of_the_previous_release_is_stamped_and_keeps_its_rows(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'release.sqlite3'}"
    engine = open_engine(url)
    try:
        make_release_database(engine)
        assert migrations.is_unversioned_release(engine)
        done = migrations.upgrade(engine)
        assert done.adopted and done.after == migrations.head()
        assert version_of(engine) == migrations.head()
        assert differences_from_the_stores(engine) == []
    finally:
        engine.dispose()
    assert_old_rows_readable(url)


def test_opening_a_store_on_a_release_database_migrates_it(tmp_path) -> None:
    """Start-up alone (no `db upgrade`) brings the previous release's file up to date."""
    url = f"sqlite:///{tmp_path / 'release.sqlite3'}"
    engine = create_engine(url)
    make_release_database(engine)
    engine.dispose()
    assert_old_rows_readable(url)
    engine = create_engine(url)
    assert version_of(engine) == migrations.head()
    engine.dispose()


def test_tables_unlike_any_release_are_refused_and_left_untouched(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'foreign.sqlite3'}"
    engine = open_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE feedback (id INTEGER PRIMARY KEY, card_uuid INTEGER"
                                 " NOT NULL, note TEXT NOT NULL)")
            conn.exec_driver_sql("INSERT INTO feedback (card_uuid, note) VALUES (1, 'mine')")
        with pytest.raises(migrations.SchemaMismatch) as refused:
            migrations.upgrade(engine)
        message = str(refused.value)
        assert "extra column feedback.note" in message
        assert "column feedback.card_uuid type is INTEGER, expected VARCHAR(128)" in message
        assert set(inspect(engine).get_table_names()) == {"feedback"}
        with engine.connect() as conn:
            assert conn.execute(text("SELECT note FROM feedback")).scalar_one() == "mine"
    finally:
        engine.dispose()


def test_a_database_migrated_by_a_newer_release_is_refused(tmp_path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'newer.sqlite3'}")
    try:
        migrations.upgrade(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0099'")
        with pytest.raises(migrations.SchemaMismatch, match="revision '0099'.*newer release"):
            migrations.upgrade(engine)
        assert version_of(engine) == "0099"
    finally:
        engine.dispose()


def test_what_0_1_0_added_to_older_files_itself_is_completed(tmp_path) -> None:
    """0.1.0 added nullable columns (and tables) to files of earlier builds at start-up; such a
    file is completed to the baseline, then stamped."""
    engine = open_engine(f"sqlite:///{tmp_path / 'older.sqlite3'}")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "CREATE TABLE issued_cards (id INTEGER PRIMARY KEY, card_uuid VARCHAR(128) NOT NULL,"
                " service_id VARCHAR(128) NOT NULL, hook_instance VARCHAR(256) NOT NULL,"
                " topic_system VARCHAR(512), topic_code VARCHAR(128), indicator VARCHAR(16) NOT"
                " NULL, suggestion_uuids TEXT NOT NULL, issued_at DATETIME NOT NULL)")
        assert migrations.upgrade(engine).adopted
        assert "client_iss" in {c["name"] for c in inspect(engine).get_columns("issued_cards")}
        with engine.connect() as conn:  # (SQLite calls this older file's rowid key nullable)
            assert migrations.differences(conn, service_metadata()) == []
    finally:
        engine.dispose()


def test_other_applications_tables_are_left_alone(tmp_path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'shared.sqlite3'}")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE someone_elses (x INTEGER)")
        migrations.upgrade(engine)
        assert "someone_elses" in inspect(engine).get_table_names()
        assert version_of(engine) == migrations.head()
    finally:
        engine.dispose()


# -- the revisions ship with the package ------------------------------------------------------


def test_the_revision_files_are_package_data() -> None:
    """An installed wheel must carry them: pyproject's package-data matches every one."""
    from importlib import resources

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["cds_service"]
    versions = resources.files("cds_service.storage.migrations") / "versions"
    files = [f"storage/migrations/versions/{p.name}" for p in versions.iterdir() if p.name.endswith(".py")]
    assert files
    for name in files:
        assert any(fnmatch.fnmatch(name, pattern) for pattern in patterns), name
    assert not (resources.files("cds_service") / "alembic.ini").is_file()
    assert len(migrations.script_directory().get_heads()) == 1


# -- the command ------------------------------------------------------------------------------


def run_cli(*args: str, cwd=ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cds_service.ops.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def test_db_upgrade_and_db_current(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    before = run_cli("db", "current", "--database-url", url)
    assert before.returncode == 0 and "current: none: no database file yet" in before.stdout
    assert not (tmp_path / "cli.sqlite3").exists()  # reading made no file
    first = run_cli("db", "upgrade", "--database-url", url)
    assert first.returncode == 0, first.stderr
    assert f"upgraded from an empty database to {migrations.head()} (head)" in first.stdout
    second = run_cli("db", "upgrade", "--database-url", url)
    assert second.returncode == 0 and "already at" in second.stdout
    current = run_cli("db", "current", "--database-url", url)
    assert current.stdout.splitlines() == [f"current: {migrations.head()} (head)",
                                           f"head: {migrations.head()}"]


def test_db_upgrade_stamps_a_release_database_and_refuses_a_foreign_one(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'release.sqlite3'}"
    engine = create_engine(url)
    make_release_database(engine)
    engine.dispose()
    assert "tables of salvage-cds 0.1.0 without alembic_version" in run_cli(
        "db", "current", "--database-url", url).stdout
    done = run_cli("db", "upgrade", "--database-url", url)
    assert done.returncode == 0 and "recognised the schema of salvage-cds 0.1.0" in done.stdout
    assert_old_rows_readable(url)

    foreign = f"sqlite:///{tmp_path / 'foreign.sqlite3'}"
    engine = create_engine(foreign)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE smart_keys (name TEXT)")
    engine.dispose()
    refused = run_cli("db", "upgrade", "--database-url", foreign)
    assert refused.returncode == 1
    assert "differ from the tables of salvage-cds 0.1.0" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_serve_migrates_before_starting_and_refuses_a_foreign_schema(tmp_path) -> None:
    """`serve` runs the upgrade once before gunicorn forks; a schema it cannot recognise stops it
    with the reason, before any worker starts."""
    foreign = f"sqlite:///{tmp_path / 'foreign.sqlite3'}"
    engine = create_engine(foreign)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE feedback (id TEXT)")
    engine.dispose()
    env = {"SALVAGE_CDS_DATABASE_URL": foreign, "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "cds_service.ops.cli", "serve", "--dev", "--port",
                           str(free_port())], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    assert "salvage-cds serve:" in done.stderr and "missing column feedback.card_uuid" in done.stderr


# -- PostgreSQL -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres():
    server = start_postgres()
    yield server
    server.stop()


def new_postgres_database(server, name: str) -> str:
    admin = create_engine(server.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    return server.url.rsplit("/", 1)[0] + f"/{name}"


@pytest.mark.integration
def test_an_empty_postgres_database_is_migrated_to_the_head(postgres) -> None:
    engine = open_engine(new_postgres_database(postgres, "empty_db"))
    try:
        done = migrations.upgrade(engine)
        assert (done.before, done.after, done.adopted) == (None, migrations.head(), False)
        assert set(inspect(engine).get_table_names()) == SERVICE_TABLES | {"alembic_version"}
        assert differences_from_the_stores(engine) == []
    finally:
        engine.dispose()


@pytest.mark.integration
def test_a_postgres_database_of_the_previous_release_is_stamped_and_keeps_its_rows(
        postgres) -> None:
    url = new_postgres_database(postgres, "release_db")
    engine = open_engine(url)
    try:
        make_release_database(engine)
        assert migrations.upgrade(engine).adopted
        assert version_of(engine) == migrations.head()
        assert differences_from_the_stores(engine) == []
    finally:
        engine.dispose()
    assert_old_rows_readable(url)


@pytest.mark.integration
def test_instances_starting_together_on_one_new_postgres_database_migrate_it_once(
        postgres) -> None:
    """Each thread is an instance with its own engine (its own session): the advisory lock lets
    one migrate; the others wait, then find the head."""
    url = new_postgres_database(postgres, "race_db")
    results: list[migrations.Upgrade | BaseException] = []
    start = threading.Barrier(6)

    def instance() -> None:
        engine = open_engine(url)
        try:
            start.wait()
            results.append(migrations.upgrade(engine))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            results.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=instance) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(isinstance(r, migrations.Upgrade) for r in results), results
    assert len(results) == 6
    assert sorted(r.before is None for r in results) == [False] * 5 + [True]
    engine = open_engine(url)
    assert differences_from_the_stores(engine) == []
    engine.dispose()
