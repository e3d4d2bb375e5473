"""Persisted documents: Apollo automatic persisted queries and a trusted-documents mode.

APQ: a client sends `extensions.persistedQuery.sha256Hash` alone; an unknown hash answers
`PersistedQueryNotFound` (code PERSISTED_QUERY_NOT_FOUND) and the client retries with the
document, which is then remembered (bounded, least recently used first out): in this
process, and in the database through a `store` (villagegraph/shared.py) so that every
serving process finds what another registered. The store is hash-addressed: the database
computes the sha256 itself, so no client can register a document under another's hash.
Trusted documents: with Settings.trusted_documents (a JSON manifest: either an object of
sha256 hex → document, or Apollo's persisted-query manifest with `operations: [{id, body}]`)
only those documents run; any other is refused.
This module only maps a request to the document text; it does not execute anything.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol

from villagegraph.errors import (
    BadUserInput,
    Forbidden,
    PersistedQueryNotFound,
    PersistedQueryNotSupported,
)

__all__ = ["PersistedDocuments", "PersistedQueryNotFound", "PersistedQueryNotSupported"]


class DocumentNotTrusted(Forbidden):
    """Trusted-documents mode: this document is not in the manifest."""


class DocumentStore(Protocol):
    """Where registered APQ documents are shared between processes."""

    async def get(self, digest: str) -> str | None: ...

    async def put(self, document: str) -> str | None: ...


def sha256(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


class PersistedDocuments:
    def __init__(
        self,
        apq: bool = True,
        trusted_manifest: Path | None = None,
        max_entries: int = 10_000,
        store: DocumentStore | None = None,
    ) -> None:
        self.apq = apq
        self.store = store
        self.trusted: dict[str, str] | None = None
        if trusted_manifest is not None:
            self.trusted = _read_manifest(json.loads(trusted_manifest.read_text()))
            for digest, document in self.trusted.items():
                if sha256(document) != digest:
                    raise ValueError(f"trusted document {digest} does not match its hash")
        self.cache: OrderedDict[str, str] = OrderedDict()
        self.max_entries = max_entries

    async def resolve(self, query: str | None, extensions: dict[str, Any] | None) -> str | None:
        """The document to run for this request; raises the client-facing error if none."""
        persisted = (extensions or {}).get("persistedQuery")
        digest: str | None = None
        if isinstance(persisted, dict):
            value = persisted.get("sha256Hash")
            if not isinstance(value, str) or persisted.get("version", 1) != 1:
                raise BadUserInput("`persistedQuery` needs version 1 and a sha256Hash.")
            digest = value.lower()
        if self.trusted is not None:
            return self._trusted(query, digest)
        if digest is None:
            return query
        if not self.apq:
            raise PersistedQueryNotSupported("PersistedQueryNotSupported")
        if query is None:
            known = self.cache.get(digest)
            if known is None and self.store is not None:
                known = await self.store.get(digest)
            if known is None:
                raise PersistedQueryNotFound("PersistedQueryNotFound")
            self._remember(digest, known)
            return known
        if sha256(query) != digest:
            raise BadUserInput("provided sha does not match query")
        if digest not in self.cache and self.store is not None:
            await self.store.put(query)
        self._remember(digest, query)
        return query

    def _remember(self, digest: str, document: str) -> None:
        self.cache[digest] = document
        self.cache.move_to_end(digest)
        while len(self.cache) > self.max_entries:
            self.cache.popitem(last=False)

    def _trusted(self, query: str | None, digest: str | None) -> str:
        assert self.trusted is not None
        if digest is None and query is not None:
            digest = sha256(query)
        document = self.trusted.get(digest or "")
        if document is None:
            raise DocumentNotTrusted(
                "This server runs only its trusted documents; send a known sha256Hash."
            )
        if query is not None and query != document:
            raise BadUserInput("provided sha does not match query")
        return document


def _read_manifest(manifest: Any) -> dict[str, str]:
    if isinstance(manifest, dict) and isinstance(manifest.get("operations"), list):
        return {str(op["id"]).lower(): str(op["body"]) for op in manifest["operations"]}
    if isinstance(manifest, dict):
        return {str(k).lower(): str(v) for k, v in manifest.items()}
    raise ValueError("a trusted-documents manifest is a JSON object")
