"""GetStorageOverview: each backend's figures and health, one failing not hiding another.

The database's figures come from its own records (versions, table sizes, the contents
it sent to the blob store); the blob store adds what only its file system knows (free
space, whether it can be written); the cache, when configured, reports itself.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ledger.v1 import evaluation_service_pb2 as es
from ledger_server.domain.errors import LedgerError
from ledger_server.domain.evaluations.ports import StorageFigures

if TYPE_CHECKING:
    from ledger_server.rpc.evaluations.servicer import EvaluationServicer

HEALTHY = es.BACKEND_HEALTH_HEALTHY
UNHEALTHY = es.BACKEND_HEALTH_UNHEALTHY


async def storage_overview(servicer: EvaluationServicer) -> es.GetStorageOverviewResponse:
    figures: StorageFigures | None = None
    database = es.StorageBackend(name="database", type="postgresql", health=HEALTHY)
    try:
        figures = await servicer.runtime.offload(servicer.evaluations.storage_figures)
        database.rows = figures.versions
        database.bytes = figures.table_bytes
    except LedgerError as error:  # the database is away: say so, report the rest
        database.health = UNHEALTHY
        database.detail = error.message
    blobs = await servicer.on_blob_thread(_blob_store, servicer, figures)
    backends = [database, blobs]
    if servicer.cache_health is not None:
        backends.append(await servicer.on_blob_thread(_cache, servicer))
    return es.GetStorageOverviewResponse(backends=backends)


def _blob_store(servicer: EvaluationServicer, figures: StorageFigures | None) -> es.StorageBackend:
    backend = es.StorageBackend(name="blob_store", type="filesystem", health=HEALTHY)
    if figures is not None:
        backend.files = figures.blob_files
        backend.bytes = figures.blob_bytes
    root = servicer.blobs.root
    try:
        backend.free_bytes, _ = servicer.blobs.usage()
    except OSError as error:
        backend.health = UNHEALTHY
        backend.detail = f"cannot read the blob store's file system: {error.strerror}"
        return backend
    if not os.access(root, os.W_OK | os.X_OK):
        backend.health = UNHEALTHY
        backend.detail = "the blob store's directory cannot be written"
    return backend


def _cache(servicer: EvaluationServicer) -> es.StorageBackend:
    assert servicer.cache_health is not None
    healthy, keys, used_bytes, detail = servicer.cache_health()
    return es.StorageBackend(
        name="cache",
        type="redis",
        health=HEALTHY if healthy else UNHEALTHY,
        rows=keys,
        bytes=used_bytes,
        detail=detail,
    )
