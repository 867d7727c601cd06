"""Baseline: the tables as salvage-cds 0.1.0 created them with `MetaData.create_all`.

Revision ID: 0001
Revises: (none)

The definitions below are frozen copies of the tables of that release (feedback store, SMART
session store, JWT replay cache): later changes to the stores' tables are new revisions, never
edits here. `baseline_metadata()` is also what a database made by 0.1.0 (no `alembic_version`
table) is compared with before it is stamped with this revision (`cds_service.storage.migrations`).
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def baseline_metadata() -> MetaData:
    metadata = MetaData()
    Table(
        "feedback",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("service_id", String(128), nullable=False, index=True),
        Column("card_uuid", String(128), nullable=False, index=True),
        Column("outcome", String(16), nullable=False),
        Column("accepted_suggestions", Text, nullable=False),
        Column("override_reason_system", String(512)),
        Column("override_reason_code", String(128)),
        Column("override_reason_display", String(512)),
        Column("override_comment", Text),
        Column("outcome_timestamp", String(64), nullable=False),
        Column("received_at", DateTime(timezone=True), nullable=False),
        Column("client_iss", String(512)),
        Column("status", String(16)),
        Column("dedup_key", String(64), index=True),
    )
    Table(
        "issued_cards",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("card_uuid", String(128), nullable=False, index=True),
        Column("service_id", String(128), nullable=False),
        Column("hook_instance", String(256), nullable=False, index=True),
        Column("topic_system", String(512)),
        Column("topic_code", String(128)),
        Column("indicator", String(16), nullable=False),
        Column("suggestion_uuids", Text, nullable=False),
        Column("issued_at", DateTime(timezone=True), nullable=False),
        Column("client_iss", String(512)),
    )
    Table(
        "smart_launches",
        metadata,
        Column("state_hash", String(64), primary_key=True),
        Column("payload", Text, nullable=False),
        Column("expires_at", Float, nullable=False, index=True),
    )
    Table(
        "smart_sessions",
        metadata,
        Column("id_hash", String(64), primary_key=True),
        Column("fhir_base", String(2048), nullable=False),
        Column("patient_id", String(64), nullable=False),
        Column("scope", Text, nullable=False),
        Column("assessment_date", String(10)),
        Column("need_patient_banner", Boolean, nullable=False),
        Column("token_ciphertext", Text, nullable=False),
        Column("created_at", Float, nullable=False),
        Column("expires_at", Float, nullable=False, index=True),
    )
    Table(
        "smart_keys",
        metadata,
        Column("name", String(64), primary_key=True),
        Column("value", String(256), nullable=False),
    )
    Table(
        "jwt_replay_cache",
        metadata,
        Column("token_hash", String(64), primary_key=True),
        Column("expires_at", Float, nullable=False, index=True),
    )
    return metadata


def upgrade() -> None:
    # the same CREATE TABLE / CREATE INDEX statements 0.1.0's create_all emitted
    baseline_metadata().create_all(op.get_bind(), checkfirst=False)


def downgrade() -> None:
    baseline_metadata().drop_all(op.get_bind(), checkfirst=False)
