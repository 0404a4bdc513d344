"""Log followers over an in-memory log: every line once and in order, one read per wake-up."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest

from ledger_server.domain.errors import NotFound, OutOfRange
from ledger_server.domain.evaluations.log_follow import LogFollowers
from ledger_server.domain.evaluations.log_lines import LogBatch, LogLine, LogStream
from ledger_server.domain.evaluations.log_ports import LOG_TOPIC
from ledger_server.domain.evaluations.log_use_cases import LogRead
from ledger_server.storage.notifications import ChangeHub, payload

T = TypeVar("T")
NOW = datetime(2026, 11, 27, tzinfo=UTC)


class MemoryLog:
    """What LogFollowers needs of EvaluationLogs, over a list, counting reads."""

    def __init__(self, hub: ChangeHub, evaluation_id: str = "eval-1", read_lines: int = 100):
        self.hub = hub
        self.evaluation_id = evaluation_id
        self.batches: list[LogBatch] = []
        self.final = False
        self.reads = 0
        self.read_lines = read_lines

    @property
    def last(self) -> int:
        return self.batches[-1].last_sequence if self.batches else 0

    def append(self, count: int) -> None:
        first = self.last + 1
        lines = tuple(
            LogLine(first + i, f"line {first + i}", LogStream.STDOUT, NOW) for i in range(count)
        )
        self.batches.append(LogBatch(self.evaluation_id, first, lines))
        self.hub.deliver(payload(LOG_TOPIC, self.evaluation_id))

    def finish(self) -> None:
        self.final = True
        self.hub.deliver(payload(LOG_TOPIC, self.evaluation_id))

    def log_end(self, evaluation_id: str, after_sequence: int) -> int:
        if evaluation_id != self.evaluation_id:
            raise NotFound("evaluation", evaluation_id)
        if after_sequence > self.last:
            raise OutOfRange("past the end")
        return self.last

    def read_after(self, evaluation_id: str, after_sequence: int) -> LogRead:
        self.reads += 1
        final = self.final
        found: list[LogBatch] = []
        lines = 0
        for batch in self.batches:
            if batch.last_sequence <= after_sequence:
                continue
            if found and lines + len(batch.lines) > self.read_lines:
                return LogRead(found, more=True, finished=False)
            found.append(batch.after(after_sequence))
            lines += len(found[-1].lines)
        return LogRead(found, more=False, finished=final)


async def offload(fn: Callable[..., T], *args: Any) -> T:
    await asyncio.sleep(0)  # a real offload yields to the loop too
    return fn(*args)


def run(main: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(asyncio.wait_for(main(), 30))


async def collect(followers: LogFollowers, evaluation_id: str, after: int = 0) -> list[int]:
    sequences: list[int] = []
    async for batches in followers.follow(evaluation_id, after):
        assert batches
        for batch in batches:
            assert batch.first_sequence == (sequences[-1] if sequences else after) + 1
            sequences.extend(line.sequence for line in batch.lines)
    return sequences


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def test_follow_gives_every_follower_every_line_once_with_one_read_per_wake_up() -> None:
    async def main() -> None:
        hub = ChangeHub()
        log = MemoryLog(hub)
        log.append(3)
        followers = LogFollowers(log, hub, offload, poll_seconds=60)
        tasks = [asyncio.create_task(collect(followers, "eval-1")) for _ in range(500)]
        await settle()
        reads_before = log.reads
        for _ in range(10):
            log.append(7)
            await settle()
        log.finish()
        results = await asyncio.gather(*tasks)
        assert all(result == list(range(1, 74)) for result in results)
        # The 500 followers shared the tail's reads: about one per append, not 500.
        assert log.reads - reads_before <= 12
        assert followers.followed == 0

    run(main)


def test_follow_of_a_finished_evaluation_sends_what_exists_and_ends() -> None:
    async def main() -> None:
        hub = ChangeHub()
        log = MemoryLog(hub)
        log.append(5)
        log.finish()
        followers = LogFollowers(log, hub, offload, poll_seconds=60)
        assert await collect(followers, "eval-1", after=2) == [3, 4, 5]
        assert await collect(followers, "eval-1", after=5) == []

    run(main)


def test_follow_far_behind_catches_up_with_its_own_reads_without_gap_or_repeat() -> None:
    async def main() -> None:
        hub = ChangeHub()
        log = MemoryLog(hub, read_lines=10)
        for _ in range(30):
            log.append(4)
        followers = LogFollowers(log, hub, offload, poll_seconds=60, keep_lines=8)
        live = asyncio.create_task(collect(followers, "eval-1", after=120))
        await settle()
        behind = asyncio.create_task(collect(followers, "eval-1", after=1))
        for _ in range(5):
            log.append(3)
            await settle()
        log.finish()
        assert await live == list(range(121, 136))
        assert await behind == list(range(2, 136))

    run(main)


def test_follow_without_wake_ups_still_delivers_after_the_poll() -> None:
    async def main() -> None:
        hub = ChangeHub()
        log = MemoryLog(hub)
        followers = LogFollowers(log, hub, offload, poll_seconds=0.05)
        task = asyncio.create_task(collect(followers, "eval-1"))
        await settle()
        log.hub = ChangeHub()  # wake-ups now go nowhere: as if the listener were away
        log.append(2)
        await asyncio.sleep(0.2)
        log.finish()
        assert await task == [1, 2]

    run(main)


def test_read_sends_what_exists_and_ends_even_while_running() -> None:
    async def main() -> list[int]:
        hub = ChangeHub()
        log = MemoryLog(hub, read_lines=5)
        for _ in range(4):
            log.append(3)
        followers = LogFollowers(log, hub, offload)
        return [
            line.sequence
            async for batches in followers.read("eval-1", 4)
            for batch in batches
            for line in batch.lines
        ]

    assert run(main) == list(range(5, 13))


@pytest.mark.parametrize(
    ("evaluation_id", "after", "error"), [("nope", 0, NotFound), ("eval-1", 9, OutOfRange)]
)
def test_follow_refuses_an_unknown_evaluation_or_a_cursor_past_the_end(
    evaluation_id: str, after: int, error: type[Exception]
) -> None:
    async def main() -> None:
        hub = ChangeHub()
        log = MemoryLog(hub)
        log.append(3)
        followers = LogFollowers(log, hub, offload)
        with pytest.raises(error):
            await collect(followers, evaluation_id, after)
        assert followers.followed == 0

    run(main)
