"""The timeline entry each appended version adds: every version change is on it."""

from __future__ import annotations

from ledger_server.domain.evaluations.ports import NewEvent
from ledger_server.domain.evaluations.records import Change, Evaluation

_TYPES = {
    Change.CREATED: "ledger.created",
    Change.UPDATED: "ledger.updated",
    Change.TASK_UPDATE: "ledger.task_update",
    Change.OUTPUT_WRITTEN: "ledger.output_written",
    Change.DELETED: "ledger.deleted",
}
STATUS_CHANGED = "ledger.status_changed"


def version_event(before: Evaluation | None, after: Evaluation) -> NewEvent:
    metadata: dict[str, object] = {"version": after.version, "status": after.status.value}
    type_ = _TYPES[after.change]
    if before is None:
        message = f"version {after.version}: created as {after.status.value}"
    elif before.status is not after.status:
        metadata["previous_status"] = before.status.value
        message = f"version {after.version}: {before.status.value} -> {after.status.value}"
        if after.change is Change.UPDATED:
            type_ = STATUS_CHANGED
    else:
        message = f"version {after.version}: {after.change.value.replace('_', ' ')}"
    if after.task is not None and after.change is Change.TASK_UPDATE:
        metadata["task_id"] = after.task.task_id
        metadata["task_state"] = after.task.task_state.value
        metadata["retries"] = after.task.retries
    return NewEvent(after.evaluation_id, type_, message, metadata, after.update_time, after.version)
