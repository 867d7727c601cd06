"""Schema migrations of the service database (Alembic): the one way its tables are made.

The revisions are in `versions/` (package data: an installed wheel carries them). Alembic is
configured here in code — no alembic.ini and no env.py at run time; the database is the engine the
service opened from its configuration (`SALVAGE_CDS_DATABASE_URL`).

`upgrade(engine)` brings any database to the newest revision:
- empty: every revision runs, from `0001` (the baseline);
- already versioned (an `alembic_version` table): the revisions it lacks run;
- made by salvage-cds 0.1.0 (the service's tables, no `alembic_version`; 0.1.0 made them with
  `create_all`): compared with the baseline; what 0.1.0 itself added on the fly to older files
  (missing tables, nullable columns, indexes) is added, anything else is refused with the
  differences named (`SchemaMismatch`) — never dropped or re-created; then it is stamped `0001`
  and upgraded like any other.

It runs at start-up (`salvage-cds serve` once before the workers fork; every store's `open` too,
which finds the head and returns without locking) and with `salvage-cds db upgrade`. Several
processes may start together against one database, so the check-and-migrate runs under a lock:
on PostgreSQL a session advisory lock (`pg_advisory_lock`, released on unlock or disconnect); on a
SQLite file an exclusive `flock` of the database file (Linux keeps flock and SQLite's own fcntl
locks apart, and a SQLite file is shared only by processes of one machine). Whoever waited then
finds the database at the head and does nothing. Other backends get no lock: run
`salvage-cds db upgrade` once before starting several instances.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.operations import Operations
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import MetaData, Table, inspect, text
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger("salvage_cds.migrations")

BASELINE_REVISION = "0001"
# the key of the PostgreSQL advisory lock held while migrating (any fixed 64-bit number no other
# application sharing the database uses; this one spells "5a1ca9e-cd5" = salvage-cds)
ADVISORY_LOCK_KEY = 0x5A1CA9ECD5


class SchemaMismatch(RuntimeError):
    """The database holds the service's tables in a shape no revision made: left untouched."""


@dataclass(frozen=True)
class Upgrade:
    before: str | None  # the revision found; None: empty or unversioned
    after: str
    adopted: bool  # an unversioned 0.1.0 database was recognised and stamped

    def describe(self) -> str:
        if self.adopted:
            return (f"recognised the schema of salvage-cds 0.1.0 (no alembic_version), stamped "
                    f"{BASELINE_REVISION}, now at {self.after}")
        if self.before == self.after:
            return f"already at {self.after} (head)"
        return f"upgraded from {self.before or 'an empty database'} to {self.after} (head)"


@cache
def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files(__name__)))
    return config


def head() -> str:
    heads = script_directory().get_heads()
    if len(heads) != 1:  # two revisions on one parent: a merge revision is missing
        raise RuntimeError(f"the migrations have {len(heads)} heads: {sorted(heads)}")
    return heads[0]


def baseline_metadata() -> MetaData:
    """The tables of salvage-cds 0.1.0, frozen in the baseline revision."""
    module: Any = script_directory().get_revision(BASELINE_REVISION).module
    return module.baseline_metadata()


def current(engine: Engine) -> str | None:
    """The database's revision; None when it has none (empty, or made by 0.1.0)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_unversioned_release(engine: Engine) -> bool:
    """The service's tables without an alembic_version table: made by salvage-cds 0.1.0."""
    with engine.connect() as conn:
        return _unversioned_tables(conn)


def upgrade(engine: Engine) -> Upgrade:
    """Bring the database to the head revision (see the module doc); safe to call from several
    processes at once."""
    target = head()
    with engine.connect() as conn:
        found = MigrationContext.configure(conn).get_current_revision()
        conn.commit()
        if found == target:
            return Upgrade(found, target, adopted=False)
        with _migration_lock(engine, conn):
            found = MigrationContext.configure(conn).get_current_revision()
            conn.commit()
            _check_known(found)
            adopted = found is None and _unversioned_tables(conn)
            if adopted:
                _adopt_release_schema(conn)
            if found != target:
                _run_upgrade(conn, target)
            conn.commit()
    result = Upgrade(found, target, adopted)
    if result.before != result.after:
        log.info("database schema: %s", result.describe())
    return result


def _check_known(revision: str | None) -> None:
    """A revision this release does not ship (a newer release migrated the database): refused,
    not guessed at."""
    if revision is None:
        return
    try:
        script_directory().get_revision(revision)
    except CommandError:
        raise SchemaMismatch(
            f"the database is at schema revision {revision!r}, which this release of salvage-cds "
            f"does not know (its newest is {head()!r}): a newer release has migrated it. Nothing "
            "was changed.") from None


def _unversioned_tables(conn: Connection) -> bool:
    present = set(inspect(conn).get_table_names())
    return "alembic_version" not in present and bool(present & set(baseline_metadata().tables))


def _adopt_release_schema(conn: Connection) -> None:
    """Check an unversioned 0.1.0 database against the baseline, complete what 0.1.0 itself would
    have added, and stamp it with the baseline revision."""
    baseline = baseline_metadata()
    found = differences(conn, baseline)
    refused = [d for d in found if not _completes(d)]
    if refused:
        raise SchemaMismatch(
            "the database has salvage-cds tables but no alembic_version, and they differ from the "
            "tables of salvage-cds 0.1.0 in ways no release made: " + "; ".join(map(_shown, refused))
            + ". Nothing was changed.")
    for _ in found:
        pending = differences(conn, baseline)  # adding a column may add its index too
        if not pending:
            break
        _complete(conn, pending[0])
        conn.commit()
    left = differences(conn, baseline)
    if left:
        raise SchemaMismatch("could not complete the 0.1.0 schema: " + "; ".join(map(_shown, left)))
    MigrationContext.configure(conn).stamp(script_directory(), BASELINE_REVISION)
    conn.commit()


def differences(conn: Connection, metadata: MetaData) -> list[Any]:
    """`compare_metadata` of the database with `metadata`, on `metadata`'s tables only."""
    ours = set(metadata.tables)

    def include_name(name: str | None, type_: str, _parents: Any) -> bool:
        return type_ != "table" or name in ours  # other applications' tables are not ours

    context = MigrationContext.configure(conn, opts={"include_name": include_name,
                                                     "compare_type": True})
    return [d for d in compare_metadata(context, metadata)
            if not _primary_key_nullability(d, metadata)]


def _primary_key_nullability(difference: Any, metadata: MetaData) -> bool:
    """SQLite reports `id INTEGER PRIMARY KEY` (written so by releases before 0.1.0) as nullable;
    a primary key never holds NULL there (it is the rowid), so it is no difference."""
    if not isinstance(difference, list):
        return False
    return all(kind == "modify_nullable" and metadata.tables[table].c[column].primary_key
               for kind, _, table, column, *_ in difference)


def _completes(difference: Any) -> bool:
    """What 0.1.0 added to an older file by itself: a table, a nullable column, an index."""
    if isinstance(difference, list) or not difference:
        return False
    kind = difference[0]
    if kind in ("add_table", "add_index"):
        return True
    return kind == "add_column" and difference[3].nullable


def _complete(conn: Connection, difference: tuple[Any, ...]) -> None:
    kind = difference[0]
    if kind == "add_table":
        table: Table = difference[1]
        table.create(conn)  # with its indexes
        return
    operations = Operations(MigrationContext.configure(conn))
    if kind == "add_column":
        _, schema, table_name, column = difference
        operations.add_column(table_name, column._copy(), schema=schema)
    elif kind == "add_index":
        index = difference[1]
        operations.create_index(index.name, index.table.name, [c.name for c in index.columns],
                                unique=bool(index.unique))


def _shown(difference: Any) -> str:
    """One difference from `compare_metadata`, in words."""
    if isinstance(difference, list):  # modify_* come as lists of tuples
        return "; ".join(_shown(d) for d in difference)
    kind = difference[0]
    if kind in ("add_table", "remove_table"):
        return f"{'missing' if kind == 'add_table' else 'extra'} table {difference[1].name}"
    if kind in ("add_column", "remove_column"):
        _, _, table, column = difference
        state = "missing" if kind == "add_column" else "extra"
        return f"{state} column {table}.{column.name}" + ("" if column.nullable else " (NOT NULL)")
    if kind in ("add_index", "remove_index"):
        index = difference[1]
        return f"{'missing' if kind == 'add_index' else 'extra'} index {index.name}"
    if kind.startswith("modify_"):
        _, _, table, column, _, found, expected = difference
        return f"column {table}.{column} {kind[len('modify_'):]} is {found}, expected {expected}"
    return " ".join(str(getattr(part, "name", part)) for part in difference)


def _run_upgrade(conn: Connection, target: str) -> None:
    script = script_directory()

    def steps(revision: Any, _context: Any) -> Any:
        return script._upgrade_revs(target, revision)

    with EnvironmentContext(_config(), script, fn=steps, destination_rev=target) as environment:
        environment.configure(connection=conn)
        with environment.begin_transaction():
            environment.run_migrations()
    conn.commit()


@contextmanager
def _migration_lock(engine: Engine, conn: Connection) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        conn.commit()
        try:
            yield
        finally:
            conn.rollback()
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
            conn.commit()
        return
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        yield  # in memory: one process; other backends: see the module doc
        return
    descriptor = os.open(os.path.abspath(database), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the flock
