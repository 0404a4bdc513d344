"""What instances would have cost running all the time: the 24/7 baseline of a summary."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from ledger_server.domain.savings.calculator import cents_for, micros_between
from ledger_server.domain.savings.records import RateRevision


def projected_cents(
    revisions: Iterable[RateRevision], start: datetime, end: datetime, schedule_id: str | None
) -> int:
    """Each revision's rate over the part of [start, end) it was in force, in cents.

    A revision is in force from its effective time until the next one's (an instance
    costs nothing before its first). With `schedule_id`, only revisions on that schedule
    count. Rounded once, half to even, over the whole sum.
    """
    by_instance: dict[str, list[RateRevision]] = defaultdict(list)
    for revision in revisions:
        by_instance[revision.instance_id].append(revision)
    cent_micros = 0  # sum of micros x hourly cents: exact
    for history in by_instance.values():
        history.sort(key=lambda r: (r.effective_time, r.revision))
        for current, following in zip(history, [*history[1:], None], strict=True):
            if schedule_id is not None and current.schedule_id != schedule_id:
                continue
            begin = max(current.effective_time, start)
            until = end if following is None else min(following.effective_time, end)
            if until > begin:
                cent_micros += micros_between(begin, until) * current.hourly_cost_cents
    return cents_for(cent_micros, 1)  # hour-cents to cents, rounded once
