"""A new request id (api/logs.py): 24 of base32's letters, 120 random bits. Its digits are 2-7 only, so no run of
them reads as a mobile number (1[3-9]...) or an ID-card number for a log scanner."""

from __future__ import annotations

import collections
import re

from api.logs import _REQUEST_ID, new_request_id


def test_request_ids_are_base32_letters_spread_evenly_and_unique() -> None:
    ids = [new_request_id() for _ in range(20_000)]
    assert all(re.fullmatch(r"[a-z2-7]{24}", found) for found in ids)
    assert all(_REQUEST_ID.fullmatch(found) for found in ids)  # what the gateway accepts back from a caller
    assert len(set(ids)) == len(ids)
    counts = collections.Counter("".join(ids))
    assert set(counts) == set("abcdefghijklmnopqrstuvwxyz234567")
    expected = 20_000 * 24 / 32
    assert all(abs(count - expected) < expected * 0.1 for count in counts.values())  # 15,000 each, +-10%
