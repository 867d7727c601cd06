"""Loaded at interpreter start by the benchmark's service processes (PYTHONPATH=bench/variants):
with BENCH_WITHOUT naming a piece of performance machinery, replaces it with the plain version it
stands in for, so that `bench/machinery.py` measures the service with and without it in one run.
Never on the service's own path: only the benchmark puts this directory on PYTHONPATH."""

from __future__ import annotations

import os


def _without_template_memo() -> None:
    import cards.suggestions as suggestions
    from cards.fhir_validation import validate_with_model
    from cards.render import strip_empty

    # every resource stripped, then through its model
    suggestions.strip_and_validate_built = lambda resource: validate_with_model(
        strip_empty(resource))


def _without_orjson_provider() -> None:
    from flask.json.provider import DefaultJSONProvider

    from cds_service.web.json_provider import OrjsonProvider

    OrjsonProvider.dumps = DefaultJSONProvider.dumps  # type: ignore[method-assign]
    OrjsonProvider.response = DefaultJSONProvider.response  # type: ignore[method-assign]


def _without_batch_writer() -> None:
    """Issued-card links written inline, one durable transaction per call (the plain version)."""
    from cds_service.storage.feedback_store import FeedbackStore, issued_card_rows, issued_cards_table

    def queue_issued_cards(self, service_id, hook_instance, cards, client_iss=None):
        rows = issued_card_rows(service_id, hook_instance, cards, client_iss)
        if rows:
            try:
                with self.engine.begin() as conn:
                    conn.execute(issued_cards_table.insert(), rows)
            except Exception:  # noqa: BLE001 - as the writer: a lost link never costs a card
                pass

    FeedbackStore.queue_issued_cards = queue_issued_cards  # type: ignore[method-assign]


def _without_linger() -> None:
    """The batch writer writes what is queued at once, without waiting for company."""
    from cds_service.storage.batch_writer import BatchWriter

    init = BatchWriter.__init__

    def no_linger(self, *args, **kwargs):
        init(self, *args, **{**kwargs, "linger_s": 0.0})

    BatchWriter.__init__ = no_linger  # type: ignore[method-assign]


def _without_relaxed_engine() -> None:
    """The batch writer kept, its transactions on the durable engine."""
    from cds_service.storage.feedback_store import FeedbackStore

    opened = FeedbackStore.open.__func__  # type: ignore[attr-defined]

    def open_durable(cls, url):
        store = opened(cls, url)
        if store.issued_cards_engine is not store.engine:
            store.issued_cards_engine.dispose()
            store.issued_cards_engine = store.engine
        return store

    FeedbackStore.open = classmethod(open_durable)  # type: ignore[method-assign]


def _without_thread_pool() -> None:
    """Every call starts threads of its own for its FHIR queries (the plain version)."""
    from cds_service.fhir.threads import FhirThreads

    FhirThreads.try_reserve = lambda self, count: False  # type: ignore[method-assign]


PLAIN_VERSIONS = {
    "template memo": _without_template_memo,
    "orjson provider": _without_orjson_provider,
    "batch writer": _without_batch_writer,
    "writer linger": _without_linger,
    "relaxed engine": _without_relaxed_engine,
    "FHIR thread pool": _without_thread_pool,
}

_piece = os.environ.get("BENCH_WITHOUT")
if _piece:
    PLAIN_VERSIONS[_piece]()
