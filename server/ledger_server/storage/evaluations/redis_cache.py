"""Evaluation versions in Redis: the shared level of the version cache (optional extra).

Each version is one JSON value under `ledger:evaluation:<id>:v<version>`, kept for an
hour (the seed's TTL: only to bound Redis's memory, since a version never changes). Any
Redis error is logged and answered as a miss: the database is the truth, the cache only
saves it reads.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from ledger_server.domain.evaluations.records import (
    Change,
    Compression,
    Content,
    Evaluation,
    Location,
    ResourceLimits,
    RunningInfo,
    Status,
    TaskInfo,
    TaskState,
)

log = logging.getLogger("ledger.cache")
TTL_SECONDS = 3600
PREFIX = "ledger:evaluation:"


def key_of(evaluation_id: str, version: int) -> str:
    return f"{PREFIX}{evaluation_id}:v{version}"


class RedisVersions:
    def __init__(self, url: str) -> None:
        import redis  # the optional extra: imported only when configured

        self._redis = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)

    def get(self, evaluation_id: str, version: int) -> Evaluation | None:
        try:
            raw = self._redis.get(key_of(evaluation_id, version))
        except self._errors as error:
            log.warning("cache read failed", extra={"error": type(error).__name__})
            return None
        if raw is None:
            return None
        return _evaluation(json.loads(raw))

    def put(self, evaluation: Evaluation) -> None:
        if evaluation.code:
            return  # code is read on demand, never kept
        try:
            self._redis.set(
                key_of(evaluation.evaluation_id, evaluation.version),
                json.dumps(_document(evaluation)),
                ex=TTL_SECONDS,
            )
        except self._errors as error:
            log.warning("cache write failed", extra={"error": type(error).__name__})

    def health(self) -> tuple[bool, int, int, str]:
        """(healthy, keys, bytes used, what is wrong) for GetStorageOverview."""
        try:
            keys = int(self._redis.dbsize())
            memory: Any = self._redis.info("memory")
            return True, keys, int(memory.get("used_memory", 0)), ""
        except self._errors as error:
            return False, 0, 0, f"redis is unreachable ({type(error).__name__})"


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _content(content: Content | None) -> dict[str, Any] | None:
    if content is None:
        return None
    return {
        "sha256": content.sha256.hex(),
        "size": content.size,
        "location": content.location.value,
        "compression": content.compression.value,
        "stored_bytes": content.stored_bytes,
        "preview": content.preview,
        "preview_truncated": content.preview_truncated,
    }


def _parse_content(value: dict[str, Any] | None) -> Content | None:
    if value is None:
        return None
    return Content(
        bytes.fromhex(value["sha256"]),
        value["size"],
        Location(value["location"]),
        Compression(value["compression"]),
        value["stored_bytes"],
        value["preview"],
        value["preview_truncated"],
    )


def _document(e: Evaluation) -> dict[str, Any]:
    running = None
    if e.running is not None:
        r = e.running
        running = {
            "container_id": r.container_id,
            "host": r.host,
            "image": r.image,
            "start_time": _time(r.start_time),
            "limits": [r.limits.cpu_millis, r.limits.memory_bytes, r.limits.timeout_seconds],
        }
    task = None
    if e.task is not None:
        task = [e.task.task_id, e.task.task_state.value, e.task.retries]
    return {
        "evaluation_id": e.evaluation_id,
        "version": e.version,
        "status": e.status.value,
        "language": e.language,
        "create_time": _time(e.create_time),
        "update_time": _time(e.update_time),
        "change": e.change.value,
        "metadata": e.metadata,
        "output": _content(e.output),
        "error": _content(e.error),
        "runtime_ms": e.runtime_ms,
        "start_time": _time(e.start_time),
        "complete_time": _time(e.complete_time),
        "running": running,
        "task": task,
        "deleted": e.deleted,
    }


def _evaluation(d: dict[str, Any]) -> Evaluation:
    running = None
    if d["running"] is not None:
        r = d["running"]
        running = RunningInfo(
            r["container_id"],
            r["host"],
            r["image"],
            _parse_time(r["start_time"]),
            ResourceLimits(*r["limits"]),
        )
    task = None
    if d["task"] is not None:
        task = TaskInfo(d["task"][0], TaskState(d["task"][1]), d["task"][2])
    create_time = _parse_time(d["create_time"])
    update_time = _parse_time(d["update_time"])
    assert create_time is not None and update_time is not None
    return Evaluation(
        evaluation_id=d["evaluation_id"],
        version=d["version"],
        status=Status(d["status"]),
        language=d["language"],
        create_time=create_time,
        update_time=update_time,
        change=Change(d["change"]),
        metadata=d["metadata"],
        output=_parse_content(d["output"]),
        error=_parse_content(d["error"]),
        runtime_ms=d["runtime_ms"],
        start_time=_parse_time(d["start_time"]),
        complete_time=_parse_time(d["complete_time"]),
        running=running,
        task=task,
        deleted=d["deleted"],
    )
