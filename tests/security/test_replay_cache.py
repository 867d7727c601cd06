"""The jti replay cache: one use per token, across threads and worker processes, rows purged."""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from cds_service.security.replay import ReplayCache, replay_table


def _count(cache: ReplayCache) -> int:
    with cache.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(replay_table)).scalar_one()


def test_first_use_then_replay(tmp_path: Path) -> None:
    cache = ReplayCache.open(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    try:
        exp = time.time() + 300
        assert cache.first_use("iss-a", "jti-1", exp) is True
        assert cache.first_use("iss-a", "jti-1", exp) is False
        assert cache.first_use("iss-b", "jti-1", exp) is True  # jti is unique per issuer
    finally:
        cache.close()


def test_rows_live_until_expiry_and_are_purged(tmp_path: Path) -> None:
    cache = ReplayCache.open(f"sqlite:///{tmp_path / 'r.sqlite3'}", purge_interval_s=0)
    try:
        now = 1_000_000.0
        assert cache.first_use("iss", "old", now + 10, now=now)
        assert cache.first_use("iss", "new", now + 1000, now=now)
        assert cache.first_use("iss", "old", now + 10, now=now + 5) is False  # still live
        assert cache.purge(now=now + 11) == 1
        assert _count(cache) == 1
        # An expired row the purge has not reached yet does not block a later, different token.
        assert cache.first_use("iss", "x", now + 20, now=now)
        cache.purge_interval_s = 3600
        assert cache.first_use("iss", "x", now + 100, now=now + 30) is True
    finally:
        cache.close()


def test_concurrent_threads_accept_exactly_one(tmp_path: Path) -> None:
    cache = ReplayCache.open(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    try:
        exp = time.time() + 300
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda _: cache.first_use("iss", "same", exp), range(32)))
        assert results.count(True) == 1
    finally:
        cache.close()


def _worker(url: str, barrier: Any, queue: Any) -> None:  # multiprocessing's Barrier and Queue proxies
    cache = ReplayCache.open(url)
    barrier.wait()
    accepted = sum(cache.first_use("iss", f"jti-{i}", time.time() + 300) for i in range(20))
    cache.close()
    queue.put(accepted)


def test_separate_processes_share_the_cache(tmp_path: Path) -> None:
    """Like gunicorn workers: four processes try the same 20 jtis; each jti passes once."""
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    ReplayCache.open(url).close()  # create the table first
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    queue = context.Queue()
    processes = [context.Process(target=_worker, args=(url, barrier, queue)) for _ in range(4)]
    for process in processes:
        process.start()
    totals = [queue.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    assert sum(totals) == 20
