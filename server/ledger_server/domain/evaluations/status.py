"""The status state machine, and the Celery task states mapped onto it.

QUEUED -> PROVISIONING -> RUNNING -> one of the terminal states, which are final. A
worker may requeue (PROVISIONING or RUNNING back to QUEUED: a retry), and a task queue
that does not report starts (Celery's default) moves a task from QUEUED straight to its
outcome. A status may "move" to itself while other fields change.
"""

from __future__ import annotations

from ledger_server.domain.errors import FailedPrecondition
from ledger_server.domain.evaluations.records import TERMINAL, Status, TaskState

_ALLOWED: dict[Status, frozenset[Status]] = {
    Status.QUEUED: frozenset({Status.QUEUED, Status.PROVISIONING, Status.RUNNING} | TERMINAL),
    Status.PROVISIONING: frozenset(
        {
            Status.QUEUED,
            Status.PROVISIONING,
            Status.RUNNING,
            Status.FAILED,
            Status.CANCELLED,
            Status.TIMEOUT,
        }
    ),
    Status.RUNNING: frozenset({Status.QUEUED, Status.RUNNING} | TERMINAL),
}

TASK_STATUS: dict[TaskState, Status] = {
    TaskState.PENDING: Status.QUEUED,
    TaskState.STARTED: Status.RUNNING,
    TaskState.RETRY: Status.QUEUED,
    TaskState.SUCCESS: Status.COMPLETED,
    TaskState.FAILURE: Status.FAILED,
    TaskState.REVOKED: Status.CANCELLED,
}


def may_move(current: Status, new: Status) -> bool:
    return new in _ALLOWED.get(current, frozenset())


def check_change(evaluation_id: str, current: Status, new: Status | None) -> None:
    """FAILED_PRECONDITION unless an evaluation in `current` may change (to `new`).

    A terminal evaluation takes no change at all (EVALUATION_FINISHED); any other takes
    the moves of the table above (ILLEGAL_TRANSITION names both states).
    """
    if current.terminal:
        raise FailedPrecondition(
            f"evaluation {evaluation_id!r} is {current.value}, a final status: it takes no "
            "more changes",
            reason="EVALUATION_FINISHED",
            metadata={"evaluation_id": evaluation_id, "current_status": current.value},
        )
    if new is not None and not may_move(current, new):
        raise FailedPrecondition(
            f"evaluation {evaluation_id!r} cannot move from {current.value} to {new.value}",
            reason="ILLEGAL_TRANSITION",
            metadata={
                "evaluation_id": evaluation_id,
                "current_status": current.value,
                "requested_status": new.value,
            },
        )
