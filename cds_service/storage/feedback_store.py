"""Durable storage of CDS Hooks feedback and of the cards the service returned.

SQLAlchemy Core over the service database (`cds_service.storage.database`: SQLite by default,
durable settings; or any URL such as PostgreSQL). A feedback POST is stored in ONE transaction: all
entries or none, and the service answers 200 only after the commit.

`issued_cards` keeps, per hookInstance, the uuid and topic of each returned card, the uuids of
its suggestions and the client (JWT `iss`) it went to — no patient identifier — so feedback can be
linked to what it answers. Feedback is accepted only from the client that received the card
(issue 16, item 8): feedback on a card never issued (by this service) is stored apart
(`status` = ``unmatched``) and counted only if a link from that card to the same client is
written later (another instance's background writer may still be writing it); feedback on another
client's card is refused; an
entry already stored is acknowledged, not stored twice; and the report counts each card once per
outcome. Every entry is checked against what the database can store (column lengths, no NUL)
before the write (item 9): a bad entry is named, the others are stored. It is
written for every hook call by a background writer, in batches (`cds_service.storage.batch_writer`),
through a second engine with relaxed commits (`database` module doc): a graceful stop loses
nothing, a hard kill or power failure may lose the links of the last calls. Feedback itself
(acknowledged to the EHR) is written inline with durable commits.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

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

from cds_service.storage.batch_writer import BatchWriter
from cds_service.storage.database import open_engine, prepare_schema, relaxed_transaction

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
    Column("client_iss", String(512)),  # the JWT `iss` of the sender; None under `serve --dev`
    Column("status", String(16)),  # counted | unmatched (no such card); None: before issue 16
    Column("dedup_key", String(64), index=True),  # sha256 of what the entry says
)

COUNTED = "counted"
UNMATCHED = "unmatched"
ISSUED_LOOKUP_FLUSH_S = 2.0  # wait for queued card links before calling a card unknown
# Another instance's links are written by its own background writer (a linger of up to 50 ms
# plus the commit): look once more after this pause before answering "not counted". The report
# counts by joining on the card and its client whenever the link arrives, so a late link still
# counts (the status is the write-time verdict, never the report's).
OTHER_WRITERS_WAIT_S = 0.3

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
    Column("client_iss", String(512)),  # the client the card went to; None under `serve --dev`
)

# Where each stored member of a feedback entry goes: its path in the entry, and its column.
_STORED_MEMBERS = (
    (("card",), feedback_table.c.card_uuid),
    (("outcomeTimestamp",), feedback_table.c.outcome_timestamp),
    (("overrideReason", "reason", "system"), feedback_table.c.override_reason_system),
    (("overrideReason", "reason", "code"), feedback_table.c.override_reason_code),
    (("overrideReason", "reason", "display"), feedback_table.c.override_reason_display),
)



def _caused_by_the_data(exc: Exception) -> bool:
    """A write that failed because of what it wrote (a text the database cannot store, a
    constraint), not because of the database (down, locked, connection lost)."""
    return not isinstance(exc, (OperationalError, InterfaceError))


def issued_card_rows(service_id: str, hook_instance: str, cards: Iterable[Mapping[str, Any]],
                     client_iss: str | None = None) -> list[dict[str, Any]]:
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
            "client_iss": client_iss,
        })
    return rows


def _strings(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, str(index)))


def _member(entry: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = entry
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def unstorable(entry: Mapping[str, Any]) -> tuple[str, str] | None:
    """(member path, why) when the database cannot store this entry as it is — a text longer
    than its column, a NUL character (PostgreSQL text cannot hold one) — else None."""
    for path, value in _strings(entry):
        if "\x00" in value:
            return ".".join(path), "contains a NUL character"
    for path, column in _STORED_MEMBERS:
        value = _member(entry, path)
        limit = getattr(column.type, "length", None)  # String columns have one
        if isinstance(value, str) and limit is not None and len(value) > limit:
            return ".".join(path), f"is longer than {limit} characters"
    return None


def _dedup_key(row: Mapping[str, Any]) -> str:
    """What the entry says, from whom, about which card: equal for a resent entry."""
    said = {k: row[k] for k in ("service_id", "card_uuid", "outcome", "accepted_suggestions",
                                "override_reason_system", "override_reason_code",
                                "override_reason_display", "override_comment",
                                "outcome_timestamp", "client_iss")}
    return hashlib.sha256(json.dumps(said, sort_keys=True).encode()).hexdigest()


class EntryProblem(NamedTuple):
    """Why one feedback entry was not stored: the member at fault and what is wrong with it."""

    path: str  # e.g. "feedback.2.overrideReason.reason.code"
    why: str

    def __str__(self) -> str:
        return f"{self.path} {self.why}"


@dataclass
class FeedbackOutcome:
    """What became of the entries of one feedback POST."""

    stored: int = 0  # rows written now (counted or apart)
    duplicates: int = 0  # already stored: acknowledged, not stored twice
    unmatched: int = 0  # of `stored`: no card of this service by that uuid, stored apart
    invalid: dict[int, EntryProblem] = field(default_factory=dict)  # not storable as sent
    refused: dict[int, EntryProblem] = field(default_factory=dict)  # another client's card

    @property
    def acknowledged(self) -> int:
        return self.stored + self.duplicates


def _feedback_row(service_id: str, entry: Mapping[str, Any], client_iss: str | None,
                  now: datetime) -> dict[str, Any]:
    reason = entry.get("overrideReason") or {}
    coding = reason.get("reason") or {}
    row = {
        "service_id": service_id,
        "card_uuid": entry["card"],
        "outcome": entry["outcome"],
        "accepted_suggestions": json.dumps(
            sorted({s["id"] for s in entry.get("acceptedSuggestions") or []})),
        "override_reason_system": coding.get("system"),
        "override_reason_code": coding.get("code"),
        "override_reason_display": coding.get("display"),
        "override_comment": reason.get("userComment"),
        "outcome_timestamp": entry["outcomeTimestamp"],
        "received_at": now,
        "client_iss": client_iss,
    }
    row["dedup_key"] = _dedup_key(row)
    return row


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
        prepare_schema(engine)  # the Alembic migrations (cds_service/storage/migrations)
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

    def add_feedback(self, service_id: str, entries: Sequence[Mapping[str, Any]], *,
                     client_iss: str | None = None, skip: Collection[int] = ()) -> FeedbackOutcome:
        """Store, in one transaction, every entry the database can hold that is on a card this
        client received (or on no known card: stored apart), except those already stored and
        those at the indices in `skip` (refused by the caller)."""
        outcome = FeedbackOutcome()
        now = datetime.now(UTC)
        rows: dict[int, dict[str, Any]] = {}
        for index, entry in enumerate(entries):
            if index in skip:
                continue
            if (problem := unstorable(entry)) is not None:
                outcome.invalid[index] = EntryProblem(f"feedback.{index}.{problem[0]}", problem[1])
                continue
            rows[index] = _feedback_row(service_id, entry, client_iss, now)
        issuers = self._issuers(service_id, {row["card_uuid"] for row in rows.values()})
        for index, row in list(rows.items()):
            card = row["card_uuid"]
            if card not in issuers:
                row["status"] = UNMATCHED
            elif issuers[card] != client_iss:
                outcome.refused[index] = EntryProblem(f"feedback.{index}.card",
                                                      "was issued to another client")
                del rows[index]
            else:
                row["status"] = COUNTED
        fresh = self._drop_duplicates(list(rows.values()), outcome)
        if fresh:
            with self.engine.begin() as conn:
                conn.execute(feedback_table.insert(), fresh)
        outcome.stored = len(fresh)
        outcome.unmatched = sum(1 for row in fresh if row["status"] == UNMATCHED)
        return outcome

    def _issuers(self, service_id: str, cards: set[str]) -> dict[str, str | None]:
        """card uuid -> the client it was issued to, for the cards of this service among
        `cards` (links still queued are written first)."""
        if not cards:
            return {}
        found = self._lookup_issuers(service_id, cards)
        if len(found) < len(cards) and self._issued_writer.flush(ISSUED_LOOKUP_FLUSH_S):
            found = self._lookup_issuers(service_id, cards)
        if len(found) < len(cards):  # perhaps issued by another instance, still being written
            time.sleep(OTHER_WRITERS_WAIT_S)
            found = self._lookup_issuers(service_id, cards)
        return found

    def _lookup_issuers(self, service_id: str, cards: set[str]) -> dict[str, str | None]:
        issued = issued_cards_table
        with self.engine.connect() as conn:
            return {uuid: iss for uuid, iss in conn.execute(
                select(issued.c.card_uuid, issued.c.client_iss)
                .where(issued.c.service_id == service_id, issued.c.card_uuid.in_(sorted(cards))))}

    def _drop_duplicates(self, rows: list[dict[str, Any]],
                         outcome: FeedbackOutcome) -> list[dict[str, Any]]:
        """The rows not stored before (nor twice in this batch); the others are counted in
        `outcome.duplicates`."""
        keys = {row["dedup_key"] for row in rows}
        if not keys:
            return []
        with self.engine.connect() as conn:
            seen = set(conn.execute(select(feedback_table.c.dedup_key)
                                    .where(feedback_table.c.dedup_key.in_(sorted(keys))))
                       .scalars())
        fresh = []
        for row in rows:
            if row["dedup_key"] in seen:
                outcome.duplicates += 1
                continue
            seen.add(row["dedup_key"])
            fresh.append(row)
        return fresh

    def record_issued_cards(self, service_id: str, hook_instance: str,
                            cards: Iterable[Mapping[str, Any]],
                            client_iss: str | None = None) -> None:
        """Write the links of these cards now (one transaction)."""
        self._insert_issued(issued_card_rows(service_id, hook_instance, cards, client_iss))

    def queue_issued_cards(self, service_id: str, hook_instance: str,
                           cards: Iterable[Mapping[str, Any]],
                           client_iss: str | None = None) -> None:
        """Have the links of these cards written by the background writer (the hook path: never
        blocks, never raises; see `cds_service.storage.batch_writer`)."""
        self._issued_writer.submit(issued_card_rows(service_id, hook_instance, cards, client_iss))

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
            issued: dict[str | None, int] = dict(conn.execute(
                select(cards.c.topic_code, func.count()).group_by(cards.c.topic_code)
            ).all())
            # each card once per outcome, and only feedback from the client that received it —
            # matched here, so feedback that arrived before its card's link was written counts
            outcomes = conn.execute(
                select(cards.c.topic_code, fb.c.outcome, func.count(fb.c.card_uuid.distinct()))
                .select_from(fb.join(cards, (fb.c.card_uuid == cards.c.card_uuid)
                                     & (fb.c.service_id == cards.c.service_id)
                                     & fb.c.client_iss.is_not_distinct_from(cards.c.client_iss)))
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
