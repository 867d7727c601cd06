"""Durable storage of CDS Hooks feedback and of the cards the service returned.

SQLAlchemy Core over the service database (`cds_service.database`: SQLite by default, durable
settings; or any URL such as PostgreSQL). A feedback POST is stored in ONE transaction: all entries or none, and the service
answers 200 only after the commit.

`issued_cards` keeps, per hookInstance, the uuid and topic of each returned card and the uuids of
its suggestions — no patient identifier — so feedback can be linked to what it answers. It is
written for every hook call by a background writer, in batches (`cds_service.batch_writer`),
through a second engine with relaxed commits (`database` module doc): a graceful stop loses
nothing, a hard kill or power failure may lose the links of the last calls. Feedback itself
(acknowledged to the EHR) is written inline with durable commits.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    select,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import InterfaceError, OperationalError

from cds_service.batch_writer import BatchWriter
from cds_service.database import create_tables, open_engine, relaxed_transaction

log = logging.getLogger("salvage_cds.storage")

metadata = MetaData()

feedback_table = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("service_id", String(128), nullable=False, index=True),
    Column("card_uuid", String(128), nullable=False, index=True),
    Column("outcome", String(16), nullable=False),
    Column("accepted_suggestions", Text, nullable=False),  # JSON list of suggestion uuids
    Column("override_reason_system", String(512)),
    Column("override_reason_code", String(128)),
    Column("override_reason_display", String(512)),
    Column("override_comment", Text),
    Column("outcome_timestamp", String(64), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

issued_cards_table = Table(
    "issued_cards",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("card_uuid", String(128), nullable=False, index=True),
    Column("service_id", String(128), nullable=False),
    Column("hook_instance", String(256), nullable=False, index=True),
    Column("topic_system", String(512)),
    Column("topic_code", String(128)),
    Column("indicator", String(16), nullable=False),
    Column("suggestion_uuids", Text, nullable=False),  # JSON list
    Column("issued_at", DateTime(timezone=True), nullable=False),
)



def _caused_by_the_data(exc: Exception) -> bool:
    """A write that failed because of what it wrote (a text the database cannot store, a
    constraint), not because of the database (down, locked, connection lost)."""
    return not isinstance(exc, (OperationalError, InterfaceError))


def issued_card_rows(service_id: str, hook_instance: str,
                     cards: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One `issued_cards` row per card: uuids and topic only, no patient identifier."""
    now = datetime.now(UTC)
    rows = []
    for card in cards:
        topic = (card.get("source") or {}).get("topic") or {}
        rows.append({
            "card_uuid": card["uuid"],
            "service_id": service_id,
            "hook_instance": hook_instance,
            "topic_system": topic.get("system"),
            "topic_code": topic.get("code"),
            "indicator": card["indicator"],
            "suggestion_uuids": json.dumps(
                [s["uuid"] for s in card.get("suggestions") or [] if "uuid" in s]
            ),
            "issued_at": now,
        })
    return rows


@dataclass(frozen=True)
class TopicStats:
    topic_code: str
    issued: int
    accepted: int
    overridden: int

    @property
    def acceptance_rate(self) -> float | None:
        answered = self.accepted + self.overridden
        return self.accepted / answered if answered else None

    @property
    def override_rate(self) -> float | None:
        answered = self.accepted + self.overridden
        return self.overridden / answered if answered else None


class FeedbackStore:
    def __init__(self, engine: Engine, issued_cards_engine: Engine | None = None) -> None:
        self.engine = engine  # durable commits: feedback
        self.issued_cards_engine = issued_cards_engine or engine  # relaxed commits: bookkeeping
        # links written off the request path, in batches; `insert` is looked up at write time
        self._issued_writer = BatchWriter(lambda rows: self._insert_issued(list(rows)),
                                          name="issued cards", log=log,
                                          split_on=_caused_by_the_data)

    @classmethod
    def open(cls, url: str) -> FeedbackStore:
        engine = open_engine(url)
        create_tables(metadata, engine)
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
            return cls(engine)  # an in-memory database exists once per engine: share it
        return cls(engine, open_engine(url, wait_for_disk=False))

    def close(self) -> None:
        self._issued_writer.close()  # queued links first, then the connections
        self.engine.dispose()
        if self.issued_cards_engine is not self.engine:
            self.issued_cards_engine.dispose()

    def ping(self) -> bool:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True

    def add_feedback(self, service_id: str, entries: Iterable[Mapping[str, Any]]) -> int:
        """Store every entry in one transaction; return how many were stored."""
        now = datetime.now(UTC)
        rows = []
        for entry in entries:
            reason = entry.get("overrideReason") or {}
            coding = reason.get("reason") or {}
            rows.append({
                "service_id": service_id,
                "card_uuid": entry["card"],
                "outcome": entry["outcome"],
                "accepted_suggestions": json.dumps(
                    [s["id"] for s in entry.get("acceptedSuggestions") or []]
                ),
                "override_reason_system": coding.get("system"),
                "override_reason_code": coding.get("code"),
                "override_reason_display": coding.get("display"),
                "override_comment": reason.get("userComment"),
                "outcome_timestamp": entry["outcomeTimestamp"],
                "received_at": now,
            })
        with self.engine.begin() as conn:
            conn.execute(feedback_table.insert(), rows)
        return len(rows)

    def record_issued_cards(self, service_id: str, hook_instance: str,
                            cards: Iterable[Mapping[str, Any]]) -> None:
        """Write the links of these cards now (one transaction)."""
        self._insert_issued(issued_card_rows(service_id, hook_instance, cards))

    def queue_issued_cards(self, service_id: str, hook_instance: str,
                           cards: Iterable[Mapping[str, Any]]) -> None:
        """Have the links of these cards written by the background writer (the hook path: never
        blocks, never raises; see `cds_service.batch_writer`)."""
        self._issued_writer.submit(issued_card_rows(service_id, hook_instance, cards))

    def flush_issued_cards(self, timeout: float = 10.0) -> bool:
        """Wait until every queued link has been written (reports, tests)."""
        return self._issued_writer.flush(timeout)

    def _insert_issued(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            with relaxed_transaction(self.issued_cards_engine) as conn:
                conn.execute(issued_cards_table.insert(), rows)

    def feedback_for_card(self, card_uuid: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            result = conn.execute(
                select(feedback_table).where(feedback_table.c.card_uuid == card_uuid)
                .order_by(feedback_table.c.id)
            )
            return [dict(row._mapping) for row in result]

    def count_feedback(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(feedback_table)).scalar_one())

    def topic_report(self) -> list[TopicStats]:
        """Acceptance and override counts per card topic (cards linked to feedback by uuid)."""
        cards = issued_cards_table
        fb = feedback_table
        with self.engine.connect() as conn:
            issued = dict(conn.execute(
                select(cards.c.topic_code, func.count()).group_by(cards.c.topic_code)
            ).all())
            outcomes = conn.execute(
                select(cards.c.topic_code, fb.c.outcome, func.count())
                .select_from(fb.join(cards, fb.c.card_uuid == cards.c.card_uuid))
                .group_by(cards.c.topic_code, fb.c.outcome)
            ).all()
        counts: dict[str, dict[str, int]] = {}
        for topic, outcome, n in outcomes:
            counts.setdefault(topic or "(none)", {})[outcome] = n
        topics = sorted({(t or "(none)") for t in issued} | set(counts))
        return [
            TopicStats(
                topic_code=topic,
                issued=int(issued.get(None if topic == "(none)" else topic, 0)),
                accepted=counts.get(topic, {}).get("accepted", 0),
                overridden=counts.get(topic, {}).get("overridden", 0),
            )
            for topic in topics
        ]
