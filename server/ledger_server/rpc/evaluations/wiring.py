"""Builds the EvaluationService from settings: use cases, blob store, blob threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ledger_server.config import Settings
from ledger_server.domain.changes import Changes
from ledger_server.domain.evaluations.log_use_cases import EvaluationLogs
from ledger_server.domain.evaluations.outputs import Thresholds
from ledger_server.domain.evaluations.use_cases import Evaluations
from ledger_server.domain.evaluations.version_cache import LocalVersions, TwoLevels, VersionCache
from ledger_server.domain.ports import Transactions
from ledger_server.rpc.evaluations.servicer import EvaluationServicer
from ledger_server.rpc.handler import Runtime
from ledger_server.storage.evaluations.blob_store import FileBlobStore
from ledger_server.storage.evaluations.redis_cache import RedisVersions
from ledger_server.storage.evaluations.uploads import UploadArea

# Blob threads: file I/O and hashing, apart from the database threads so a large
# output never holds a database connection while it moves.
BLOB_THREADS = 4


def evaluation_servicer(
    settings: Settings, runtime: Runtime, transactions: Transactions, changes: Changes
) -> EvaluationServicer:
    blobs = FileBlobStore(settings.blob_root)
    blobs.prepare()
    uploads = UploadArea(settings.blob_root)
    uploads.prepare()
    cache: VersionCache = LocalVersions()
    cache_health = None
    if settings.redis_url:
        shared = RedisVersions(settings.redis_url)
        cache, cache_health = TwoLevels(cache, shared), shared.health
    servicer = EvaluationServicer(
        runtime,
        Evaluations(transactions, cache=cache),
        blobs,
        ThreadPoolExecutor(BLOB_THREADS, thread_name_prefix="ledger-blob"),
        uploads=uploads,
        cache_health=cache_health,
        thresholds=Thresholds(settings.output_inline_max_bytes, settings.output_database_max_bytes),
    )
    servicer.attach_logs(
        EvaluationLogs(transactions, changes), changes, poll_seconds=settings.log_poll_seconds
    )
    return servicer
