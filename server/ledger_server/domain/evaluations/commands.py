"""What callers ask of evaluations, already off the wire but not yet checked (rules.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ledger_server.domain.evaluations.outputs import PreparedContent
from ledger_server.domain.evaluations.records import RunningInfo, Status, TaskState


@dataclass(frozen=True)
class CreateEvaluation:
    code: str
    evaluation_id: str = ""
    language: str = ""
    status: Status | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UpdateEvaluation:
    """Fields left None keep the values of the latest version."""

    evaluation_id: str
    status: Status | None = None
    output: PreparedContent | None = None
    error: PreparedContent | None = None
    runtime_ms: int | None = None
    start_time: datetime | None = None
    complete_time: datetime | None = None
    metadata_changes: dict[str, Any] | None = None
    running: RunningInfo | None = None
    expected_version: int = 0


@dataclass(frozen=True)
class TaskUpdate:
    evaluation_id: str
    task_id: str
    task_state: TaskState | None
    retries: int = 0
    output: PreparedContent | None = None
    error: PreparedContent | None = None


@dataclass(frozen=True)
class AddEvent:
    evaluation_id: str
    type: str
    message: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    event_time: datetime | None = None


@dataclass(frozen=True)
class EvaluationFilters:
    status: Status | None = None
    language: str = ""
    start_time: datetime | None = None
    end_time: datetime | None = None
    show_deleted: bool = False
