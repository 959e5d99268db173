"""JSON read and written with orjson where it gives exactly what the standard library gives, and with the
standard library everywhere else.

Measured under the morning rush (bench/load.py with a py-spy profile): decoding hospitals' replies, encoding
HIS request bodies and encoding GraphQL responses with ``json`` took about 9% of a gateway worker; orjson does
the same work several times faster. It is not a drop-in, so each difference is routed to ``json``:

- an integer of 19 or more digits: orjson reads one past 64 bits as a float and loses digits (a card or order
  number sent as a bare number would change). Any run of 19 digits in the text, even inside a string, sends the
  whole text to ``json``;
- what orjson refuses and ``json`` reads (NaN and Infinity, lone surrogates, a UTF-8 BOM, UTF-16/32 bytes,
  1e400): ``json`` reads it, or raises its own error as before;
- nesting too deep: ``json.JSONDecodeError``, never a ``RecursionError``;
- writing: only ``str``/``int``/``float``/``bool``/``None``, lists and dicts with string keys go through
  orjson (subclasses, datetimes and dataclasses are passed through to ``json``, which writes or refuses them
  as it always did); integers past 64 bits go to ``json``. Text is written as UTF-8, not ``\\u`` escapes; a
  float NaN or infinity is written ``null`` (GraphQL never answers one; no HIS request holds a float).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_NINETEEN_DIGITS = b"0" * 19
_PASS_THROUGH = orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_SORTED_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def loads(data: bytes | str) -> Any:
    """``json.loads(data)``, value for value and error for error (nesting past ``json``'s reach is its
    ``JSONDecodeError``). Text (``str``) is read by ``json`` itself: give bytes for the fast path."""
    # Digits mapped to one byte, then one search for nineteen of them: ~3 us for a 2.5 KB reply, where
    # a regular expression took ~45 us (more than orjson saves).
    if isinstance(data, bytes) and data.translate(_DIGITS_AS_ZERO).find(_NINETEEN_DIGITS) == -1:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    try:
        return json.loads(data)
    except RecursionError:
        text = data if isinstance(data, str) else "<bytes>"
        raise json.JSONDecodeError("nested too deep", text, 0) from None


def dumps(value: Any) -> bytes:
    """``json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()``, the same bytes for the same
    value (floats aside: orjson writes ``1e-7`` where ``json`` writes ``1e-07``, the same number)."""
    try:
        return orjson.dumps(value, option=_PASS_THROUGH)
    except TypeError:  # a subclass, a datetime, a dataclass, an integer past 64 bits: json's way
        return _ENCODER.encode(value).encode()


def dumps_sorted(value: Any) -> bytes:
    """``dumps`` with every object's keys in order: one text for equal values, whatever order they were built in
    (the per-request key of a HIS call, resolvers/loaders.py)."""
    try:
        return orjson.dumps(value, option=_PASS_THROUGH | orjson.OPT_SORT_KEYS)
    except TypeError:
        return _SORTED_ENCODER.encode(value).encode()
