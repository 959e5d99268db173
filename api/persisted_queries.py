"""Persisted queries (issue 12 item 7): Apollo's automatic persisted queries, and an allowlist mode.

**Automatic** (the default; Apollo Client's persisted-query link and urql's persistedExchange speak
it): a request carries ``extensions.persistedQuery = {version: 1, sha256Hash}``. With the hash alone,
a known query runs; an unknown one answers the error ``PersistedQueryNotFound`` (code
``PERSISTED_QUERY_NOT_FOUND``) and the client sends the text once with its hash, which is checked
(SHA-256 of the UTF-8 text) and kept. Texts are kept in Redis when the gateway's cache is in Redis
(shared by every worker), else in a bounded LRU of this process.

**Allowlist** (production): only the operations of a manifest are accepted, by hash or by text
whose hash is in it; nothing is learned from clients. The manifest is Apollo's persisted-query
manifest (``{"operations": [{"id": <sha256>, "body": <text>, ...}]}``) or a plain ``{hash: text}`` map.

**Off**: ``extensions.persistedQuery`` is refused; clients send the text each time.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Final, Literal

from cachetools import LRUCache

from his_clients.caching import CacheBackend, RedisBackend

PersistedMode = Literal["automatic", "allowlist", "off"]

NOT_FOUND: Final = "PERSISTED_QUERY_NOT_FOUND"
NOT_SUPPORTED: Final = "PERSISTED_QUERY_NOT_SUPPORTED"
NOT_ALLOWED: Final = "PERSISTED_QUERY_NOT_ALLOWED"
HASH_MISMATCH: Final = "PERSISTED_QUERY_HASH_MISMATCH"
TTL_S: Final = 7 * 24 * 3600.0
MAX_KEPT_CHARS: Final = 16_384
"""A longer text runs but is not kept (its hash alone answers PersistedQueryNotFound, and the client sends the
text again): the request guard lets 256 KB through, and 2,000 kept texts of that size would hold 512 MB per
worker; at this size they hold at most 32 MB. The mini-program's operations are 0.3-4 KB."""
_SHA256: Final = re.compile(r"[0-9a-f]{64}")


class PersistedQueryRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def sha256_of(query: str) -> str:
    return hashlib.sha256(query.encode("utf-8")).hexdigest()


def load_manifest(path: Path) -> dict[str, str]:
    """hash -> text from an Apollo persisted-query manifest or a plain map; each hash checked."""
    raw: Any = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(raw, dict) and isinstance(raw.get("operations"), list):
        pairs = [(str(op["id"]), str(op["body"])) for op in raw["operations"]]
    elif isinstance(raw, dict):
        pairs = [(str(key), str(value)) for key, value in raw.items()]
    else:
        raise ValueError(f"{path}: not a persisted-query manifest")
    for digest, text in pairs:
        if sha256_of(text) != digest.lower():
            raise ValueError(f"{path}: the hash {digest} is not the SHA-256 of its operation's text")
    return {digest.lower(): text for digest, text in pairs}


class PersistedQueries:
    """Resolves a request's query text from its ``extensions.persistedQuery``, by the mode in force."""

    def __init__(
        self,
        mode: PersistedMode,
        *,
        backend: CacheBackend | None = None,
        manifest: dict[str, str] | None = None,
        max_entries: int = 2_000,
    ) -> None:
        if mode == "allowlist" and manifest is None:
            raise ValueError("the persisted-query allowlist mode needs a manifest")
        self.mode = mode
        self._redis = backend if isinstance(backend, RedisBackend) else None
        self._memory: LRUCache[str, str] = LRUCache(maxsize=max_entries)
        self._manifest = manifest or {}

    def __len__(self) -> int:
        """Texts kept in this process (the automatic mode's LRU: at most ``max_entries``)."""
        return len(self._memory)

    async def resolve(self, query: str | None, extensions: dict[str, Any] | None) -> str | None:
        """The query to run: the text given, or the one its hash names; raises PersistedQueryRefused."""
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            if self.mode == "allowlist" and query is not None and sha256_of(query) not in self._manifest:
                raise PersistedQueryRefused(NOT_ALLOWED, "only the operations of the allowlist are accepted")
            return query
        if self.mode == "off":
            raise PersistedQueryRefused(NOT_SUPPORTED, "PersistedQueryNotSupported")
        digest = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
        if not isinstance(persisted, dict) or persisted.get("version") != 1 or not isinstance(digest, str):
            raise PersistedQueryRefused("20003", "extensions.persistedQuery must be {version: 1, sha256Hash}")
        digest = digest.lower()
        if not _SHA256.fullmatch(digest):
            raise PersistedQueryRefused("20003", "persistedQuery.sha256Hash must be 64 hexadecimal digits")
        if query is not None:
            if sha256_of(query) != digest:
                raise PersistedQueryRefused(HASH_MISMATCH, "provided sha does not match query")
            if self.mode == "allowlist":
                if digest not in self._manifest:
                    raise PersistedQueryRefused(NOT_ALLOWED, "only the operations of the allowlist are accepted")
            else:
                await self._keep(digest, query)
            return query
        known = await self._find(digest)
        if known is None:
            if self.mode == "allowlist":
                raise PersistedQueryRefused(NOT_ALLOWED, "only the operations of the allowlist are accepted")
            raise PersistedQueryRefused(NOT_FOUND, "PersistedQueryNotFound")
        return known

    async def _find(self, digest: str) -> str | None:
        if self.mode == "allowlist":
            return self._manifest.get(digest)
        found = self._memory.get(digest)
        if found is None and self._redis is not None:
            stored = await self._redis.get(f"apq:{digest}")
            if stored is not None:
                found = stored.decode("utf-8")
                self._memory[digest] = found
        return found

    async def _keep(self, digest: str, query: str) -> None:
        if digest in self._memory or len(query) > MAX_KEPT_CHARS:
            return
        self._memory[digest] = query
        if self._redis is not None:
            await self._redis.set(f"apq:{digest}", query.encode("utf-8"), ttl_s=TTL_S)
