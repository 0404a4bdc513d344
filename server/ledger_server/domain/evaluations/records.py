"""Evaluations as Ledger keeps them: one row per version, each a whole snapshot.

Nothing is rewritten: a change is a new `Evaluation` with the next version number, made
from the latest one with `dataclasses.replace`. "Current state" is the latest version.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Status(enum.Enum):
    QUEUED = "queued"
    PROVISIONING = "provisioning"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMEOUT = "timeout"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset((Status.COMPLETED, Status.FAILED, Status.CANCELLED, Status.TIMEOUT))


class TaskState(enum.Enum):
    """Celery's task states, as ApplyTaskUpdate receives them."""

    PENDING = "PENDING"
    STARTED = "STARTED"
    RETRY = "RETRY"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    REVOKED = "REVOKED"


class Location(enum.Enum):
    """Where an output's bytes are kept, chosen by size (see outputs.py)."""

    DATABASE_INLINE = "database_inline"
    DATABASE_COMPRESSED = "database_compressed"
    BLOB_STORE = "blob_store"


class Compression(enum.Enum):
    NONE = "none"
    ZLIB = "zlib"


class Channel(enum.Enum):
    """Which of an evaluation's two outputs: stdout or stderr."""

    OUTPUT = "output"
    ERROR = "error"


class Change(enum.Enum):
    """What appended a version: the timeline names each one."""

    CREATED = "created"
    UPDATED = "updated"
    TASK_UPDATE = "task_update"
    OUTPUT_WRITTEN = "output_written"
    DELETED = "deleted"


@dataclass(frozen=True)
class Content:
    """An output or error as stored: where, how big, its digest and a preview."""

    sha256: bytes
    size: int
    location: Location
    compression: Compression
    stored_bytes: int
    preview: str
    preview_truncated: bool

    @property
    def sha256_hex(self) -> str:
        return self.sha256.hex()


@dataclass(frozen=True)
class ResourceLimits:
    cpu_millis: int = 0
    memory_bytes: int = 0
    timeout_seconds: int = 0


@dataclass(frozen=True)
class RunningInfo:
    container_id: str = ""
    host: str = ""
    image: str = ""
    start_time: datetime | None = None
    limits: ResourceLimits = ResourceLimits()


@dataclass(frozen=True)
class TaskInfo:
    task_id: str
    task_state: TaskState
    retries: int


@dataclass(frozen=True)
class Evaluation:
    """One version of an evaluation.

    `code` is empty unless the read asked for it (it may be a megabyte; lists never
    load it).
    """

    evaluation_id: str
    version: int
    status: Status
    language: str
    create_time: datetime
    update_time: datetime
    change: Change
    code: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    output: Content | None = None
    error: Content | None = None
    runtime_ms: int | None = None
    start_time: datetime | None = None
    complete_time: datetime | None = None
    running: RunningInfo | None = None
    task: TaskInfo | None = None
    deleted: bool = False

    def content(self, channel: Channel) -> Content | None:
        return self.output if channel is Channel.OUTPUT else self.error

    @property
    def delete_time(self) -> datetime | None:
        # The tombstone is the last version: it was written when the evaluation was deleted.
        return self.update_time if self.deleted else None


@dataclass(frozen=True)
class Event:
    """One entry of an evaluation's timeline."""

    evaluation_id: str
    event_id: int
    type: str
    message: str
    metadata: dict[str, Any]
    event_time: datetime
    version: int = 0
