"""What a gateway process keeps between requests has a maximum size and evicts (issue 13 item 4: memory holds
still over 100,000 requests; bench/memory.py measures it). Not timed: each test counts entries."""

from __future__ import annotations

import asyncio
import functools
import json

import pytest

from api import metrics
from api.persisted_queries import NOT_FOUND, PersistedQueries, PersistedQueryRefused, sha256_of
from api.ratelimit import MemoryBuckets
from api.settings import TokenBucket
from his_clients.caching import MemoryBackend, ReferenceCache


def _persisted(query: str) -> dict[str, object]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256_of(query)}}


async def test_the_apq_store_keeps_at_most_its_maximum() -> None:
    """Every client may register new queries: the store keeps the most recent ``max_entries`` and forgets the
    oldest (a forgotten hash answers PersistedQueryNotFound, and the client sends the text again)."""
    store = PersistedQueries("automatic", max_entries=50)
    queries = [f"query Q{n} {{ __typename }}" for n in range(500)]
    for query in queries:
        assert await store.resolve(query, _persisted(query)) == query
    assert len(store) == 50
    assert await store.resolve(None, _persisted(queries[-1])) == queries[-1]
    with pytest.raises(PersistedQueryRefused) as refused:
        await store.resolve(None, _persisted(queries[0]))
    assert refused.value.code == NOT_FOUND


async def test_rate_limit_buckets_are_pruned_past_their_maximum() -> None:
    """One bucket per client address and per account: past ``max_keys`` the half idle longest goes."""
    buckets = MemoryBuckets(max_keys=100)
    limit = TokenBucket(per_minute=60, burst=10)
    for n in range(5_000):
        await buckets.take(f"ip:10.0.{n // 250}.{n % 250}", limit, now=float(n))
    assert len(buckets) <= 100
    # The most recent clients are still counted: their bucket is not full again.
    assert await buckets.take("ip:10.0.19.249", limit, now=4_999.0, count=10) > 0


async def test_the_reference_cache_keeps_at_most_its_maximum() -> None:
    """HIS reference replies: an LRU of ``max_entries``, whatever the number of distinct calls; the coalescing
    table empties once the loads are done."""
    backend = MemoryBackend(max_entries=20)
    cache = ReferenceCache(backend)

    async def load(n: int) -> dict[str, int]:
        await asyncio.sleep(0)
        return {"n": n}

    for n in range(300):
        body = json.dumps({"deptCode": n}).encode()
        got = await cache.get_or_load(
            hospital_id="253", method="m", body=body, ttl_s=60, load=functools.partial(load, n)
        )
        assert got == {"n": n}
    assert len(backend) == 20
    assert not cache._in_flight  # the coalescing table itself is what is checked


def test_operation_names_and_hospital_codes_are_bounded_labels(monkeypatch: pytest.MonkeyPatch) -> None:
    """Label values a client or a hospital chooses cannot grow the series: operation names past the first
    ``MAX_OPERATION_NAMES`` and codes outside 附四 share one label each."""
    monkeypatch.setattr(metrics, "_operation_children", {})  # other tests' names stay as they were
    for n in range(metrics.MAX_OPERATION_NAMES + 100):
        metrics.record_operation(f"Bounded{n}", 0.001, failed=False)
    assert len(metrics._operation_children) <= metrics.MAX_OPERATION_NAMES + 1  # and "other"
    assert metrics.code_label("10001") == "10001"
    assert metrics.code_label("HIS_TIMEOUT") == "HIS_TIMEOUT"
    assert metrics.code_label("x-1234") == "other"
    assert metrics.code_label("77777", ours=False) == "other"
    assert metrics.code_label("ABC", ours=False) == "other"
    recorder = metrics.HisCallMetrics().bind("253", "hospital.interface.bounded")
    for n in range(1_000):
        recorder.started()
        recorder.finished(0.001, f"H{n}", "rejected", "closed")
    assert len(recorder._outcomes) <= 256  # the recorder's own table of children


async def test_long_operation_texts_are_parsed_but_not_kept() -> None:
    """The parse and validation caches keep documents of short texts only: a parsed document holds up to ~70
    times its text, so 128 cached texts of any length could hold gigabytes; a long one is parsed each time."""
    from strawberry.extensions.parser_cache import _get_parse_cache

    from resolvers import schema as graph

    parsed = _get_parse_cache(graph.CACHED_DOCUMENTS)
    assert isinstance(parsed, functools._lru_cache_wrapper)  # typed as a bare Callable; it is lru_cache's wrapper

    def calls() -> tuple[int, int]:
        parse = parsed.cache_info()
        return parse.hits + parse.misses, graph.validated.hits + graph.validated.misses

    long_text = "# " + "x" * graph.CACHED_DOCUMENT_CHARS + "\nquery Long { __typename }"
    before = calls()
    result = await graph.schema.execute(long_text)
    assert result.errors is None
    assert result.data == {"__typename": "Query"}
    assert calls() == before
    result = await graph.schema.execute("query ShortAndNew { __typename }")
    assert result.errors is None
    assert calls() == (before[0] + 1, before[1] + 1)


async def test_the_apq_store_does_not_keep_long_texts() -> None:
    """A text longer than ``MAX_KEPT_CHARS`` runs but is not kept (2,000 texts of 256 KB would be 512 MB)."""
    from api.persisted_queries import MAX_KEPT_CHARS

    store = PersistedQueries("automatic")
    long_text = "# " + "x" * MAX_KEPT_CHARS + "\nquery Long { __typename }"
    assert await store.resolve(long_text, _persisted(long_text)) == long_text
    assert len(store) == 0
    with pytest.raises(PersistedQueryRefused) as refused:
        await store.resolve(None, _persisted(long_text))
    assert refused.value.code == NOT_FOUND


async def test_the_reference_cache_is_bounded_in_bytes_too() -> None:
    """Large replies (a hospital's drug catalogue) weigh one more per 4 KB: 100 of budget hold 7 replies of 50 KB,
    not 100; a reply larger than the whole budget is not kept."""
    backend = MemoryBackend(max_entries=100)
    for n in range(50):
        await backend.set(f"253:0:catalogue:{n}", b"x" * 50_000, ttl_s=60)
    assert len(backend) == 7
    await backend.set("253:0:catalogue:huge", b"x" * 1_000_000, ttl_s=60)
    assert await backend.get("253:0:catalogue:huge") is None
    assert await backend.get("253:0:catalogue:49") is not None
