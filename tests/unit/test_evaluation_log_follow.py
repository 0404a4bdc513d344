"""Log followers over an in-memory log: every line once and in order, one read per wake-up."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest

from ledger_server.domain.errors import NotFound, OutOfRange, Unavailable
from ledger_server.domain.evaluations.log_follow import LogFollowers, _Tail
from ledger_server.domain.evaluations.log_lines import LogBatch, LogLine, LogStream
from ledger_server.domain.evaluations.log_ports import LOG_TOPIC
from ledger_server.domain.evaluations.log_use_cases import LogRead
from ledger_server.storage.notifications import ChangeHub, payload, process_origin

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
        self.failure: Exception | None = None

    @property
    def last(self) -> int:
        return self.batches[-1].last_sequence if self.batches else 0

    def append(self, count: int, *, announce: bool = False) -> LogBatch:
        """Stores a batch; `announce` for an append of this process (its news and its
        own database wake-up), else the wake-up of another process's append."""
        first = self.last + 1
        lines = tuple(
            LogLine(first + i, f"line {first + i}", LogStream.STDOUT, NOW) for i in range(count)
        )
        batch = LogBatch(self.evaluation_id, first, lines)
        self.batches.append(batch)
        if announce:
            self.hub.committed(LOG_TOPIC, self.evaluation_id, [batch])
            self.hub.deliver(f"{payload(LOG_TOPIC, self.evaluation_id)} {process_origin()}")
        else:
            self.hub.deliver(payload(LOG_TOPIC, self.evaluation_id))
        return batch

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
        if evaluation_id != self.evaluation_id:
            raise NotFound("evaluation", evaluation_id)
        if self.failure is not None:
            raise self.failure
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


def batches_of(first: int, *sizes: int) -> list[LogBatch]:
    made = []
    for size in sizes:
        lines = tuple(LogLine(first + i, "", LogStream.STDOUT, NOW) for i in range(size))
        made.append(LogBatch("eval-1", first, lines))
        first += size
    return made


def test_tail_keeps_its_newest_lines_and_at_least_its_newest_batch() -> None:
    async def main() -> None:
        tail = _Tail(end=0)
        assert tail.first_kept() == 1
        tail.add(LogRead(batches_of(1, 3, 3), more=False, finished=False), keep_lines=6)
        assert (tail.recent_lines, tail.first_kept(), tail.end) == (6, 1, 6)
        tail.add(LogRead(batches_of(7, 2), more=False, finished=False), keep_lines=6)
        assert (tail.recent_lines, tail.first_kept(), tail.end) == (5, 4, 8)
        tail.add(LogRead(batches_of(9, 10), more=False, finished=True), keep_lines=6)
        assert (tail.recent_lines, tail.first_kept(), tail.end) == (10, 9, 18)
        assert tail.finished

    run(main)


def test_tail_after_gives_the_batches_past_a_cursor_trimmed() -> None:
    async def main() -> None:
        tail = _Tail(end=0)
        tail.add(LogRead(batches_of(1, 3, 3), more=False, finished=False), keep_lines=100)
        assert [b.first_sequence for b in tail.after(3)] == [4]
        assert [b.first_sequence for b in tail.after(4)] == [5]
        assert [b.first_sequence for b in tail.after(2)] == [3, 4]  # line 3 is not skipped
        assert tail.after(6) == []

    run(main)


def test_followers_of_one_evaluation_share_one_tail_until_the_last_leaves() -> None:
    async def main() -> None:
        hub = ChangeHub()
        log = MemoryLog(hub)
        followers = LogFollowers(log, hub, offload, poll_seconds=60)
        first = asyncio.create_task(collect(followers, "eval-1"))
        second = asyncio.create_task(collect(followers, "eval-1"))
        await settle()
        assert followers.followed == 1 and len(hub._topics) == 1
        reader = followers._tails["eval-1"].reader
        assert reader is not None
        first.cancel()
        await settle()
        assert followers.followed == 1  # the other follower still reads through it
        log.append(2)
        await settle()
        second.cancel()
        await settle()
        assert followers.followed == 0 and hub._topics == {}
        assert reader.cancelled()  # no reader left polling for nobody

    run(main)


def test_followers_end_with_the_error_that_stopped_their_tail() -> None:
    async def main() -> None:
        hub = ChangeHub()
        log = MemoryLog(hub)
        followers = LogFollowers(log, hub, offload, poll_seconds=60)
        tasks = [asyncio.create_task(collect(followers, "eval-1")) for _ in range(3)]
        await settle()
        log.failure = Unavailable("the database is unavailable")
        log.append(1)
        for task in tasks:
            with pytest.raises(Unavailable):
                await task
        assert followers.followed == 0

    run(main)


def test_follow_just_behind_what_the_tail_keeps_reads_the_missing_line_itself() -> None:
    async def main() -> None:
        hub = ChangeHub()
        log = MemoryLog(hub)
        followers = LogFollowers(log, hub, offload, poll_seconds=60, keep_lines=3)
        live = asyncio.create_task(collect(followers, "eval-1"))
        await settle()
        for _ in range(3):
            log.append(2)  # the tail keeps lines 5-6 (and 3-4 until 5-6 came)
            await settle()
        assert [b.first_sequence for b in followers._tails["eval-1"].recent] == [5]
        behind = asyncio.create_task(collect(followers, "eval-1", after=3))  # 4 not kept
        await settle()
        log.finish()
        assert await behind == [4, 5, 6]
        assert await live == [1, 2, 3, 4, 5, 6]

    run(main)


def test_follow_takes_this_process_appends_from_their_news_without_reading() -> None:
    async def main() -> None:
        hub = ChangeHub()
        log = MemoryLog(hub)
        followers = LogFollowers(log, hub, offload, poll_seconds=60)
        tasks = [asyncio.create_task(collect(followers, "eval-1")) for _ in range(50)]
        await settle()
        reads_before = log.reads
        for _ in range(10):
            log.append(3, announce=True)
            await settle()
        assert log.reads == reads_before  # neither the news nor their own wake-ups read
        log.finish()  # a final status comes from the database, and is read
        results = await asyncio.gather(*tasks)
        assert all(result == list(range(1, 31)) for result in results)

    run(main)


def test_news_that_do_not_continue_the_tail_make_it_read_the_gap() -> None:
    async def main() -> None:
        hub = ChangeHub()
        log = MemoryLog(hub)
        followers = LogFollowers(log, hub, offload, poll_seconds=60)
        task = asyncio.create_task(collect(followers, "eval-1"))
        await settle()
        log.append(2, announce=True)
        await settle()
        reads_before = log.reads
        # Lines 3-4 come from an append whose wake-up is lost (nobody hears of it), then
        # 5-6 are announced: they do not continue the tail's end, so it reads 3-6.
        log.hub, hub_of_the_tail = ChangeHub(), log.hub
        log.append(2)
        log.hub = hub_of_the_tail
        log.append(2, announce=True)
        await settle()
        assert log.reads == reads_before + 1
        assert [b.first_sequence for b in followers._tails["eval-1"].recent] == [1, 3, 5]
        log.finish()
        assert await task == [1, 2, 3, 4, 5, 6]

    run(main)


def test_news_announced_out_of_order_are_delivered_in_order() -> None:
    """Two appenders of this process commit 1-2 then 3-4; their news reach the loop
    the other way round (their threads are not ordered): 3-4 does not continue the tail
    and is read, 1-2 is then already there."""

    async def main() -> None:
        hub = ChangeHub()
        log = MemoryLog(hub)
        followers = LogFollowers(log, hub, offload, poll_seconds=60)
        task = asyncio.create_task(collect(followers, "eval-1"))
        await settle()
        silent = ChangeHub()
        log.hub, hub_of_the_tail = silent, log.hub
        first, second = log.append(2), log.append(2)
        hub_of_the_tail.committed(LOG_TOPIC, "eval-1", [second])
        hub_of_the_tail.committed(LOG_TOPIC, "eval-1", [first])
        log.hub = hub_of_the_tail
        await settle()
        log.finish()
        assert await task == [1, 2, 3, 4]

    run(main)


def test_tail_extend_takes_what_continues_its_end_and_tells_of_a_gap() -> None:
    async def main() -> None:
        tail = _Tail(end=0)
        one, two, three = batches_of(1, 2, 2, 2)
        assert tail.extend([[one], [two]], keep_lines=100)
        assert tail.end == 4
        assert tail.extend([[one, two]], keep_lines=100)  # already there: nothing to do
        assert tail.end == 4
        four = batches_of(9, 1)[0]
        assert not tail.extend([[three], [four]], keep_lines=100)  # 7-8 are missing
        assert (tail.end, [b.first_sequence for b in tail.recent]) == (6, [1, 3, 5])

    run(main)


def test_a_process_drops_the_database_wake_up_of_a_change_it_announced_only() -> None:
    async def main() -> None:
        hub = ChangeHub()
        own = f"{payload(LOG_TOPIC, 'eval-1')} {process_origin()}"
        with hub.watch(LOG_TOPIC, "eval-1") as watch:
            hub.committed(LOG_TOPIC, "eval-1", "news")
            assert await watch.changed(0) and watch.take_news() == ["news"]
            hub.deliver(own)  # the same change, heard back from the database: dropped
            assert not await watch.changed(0)
            hub.deliver(own)  # a change this process did not announce: read it
            assert await watch.changed(0) and watch.take_news() is None
            hub.deliver(f"{payload(LOG_TOPIC, 'eval-1')} another-process")
            assert await watch.changed(0) and watch.take_news() is None
            hub.committed(LOG_TOPIC, "eval-1", "more news")
            hub.deliver(payload(LOG_TOPIC, "eval-1"))  # a trigger's wake-up meanwhile
            assert await watch.changed(0) and watch.take_news() is None  # so: read
            hub.wake_all()  # the listener reconnected: its own wake-ups may be lost
            hub.committed(LOG_TOPIC, "eval-1", "news")
            hub.wake_all()
            assert await watch.changed(0) and watch.take_news() is None
            hub.deliver(own)  # not dropped: the reconnect forgot what was announced
            assert await watch.changed(0)

    run(main)


def test_tail_extend_skips_the_batches_it_has_and_refuses_a_gap_of_one_line() -> None:
    async def main() -> None:
        tail = _Tail(end=0)
        one, two, three = batches_of(1, 2, 2, 2)
        assert tail.extend([[one]], keep_lines=100)
        assert tail.extend([[one], [two]], keep_lines=100)  # 1-2 read meanwhile, 3-4 new
        assert (tail.end, [b.first_sequence for b in tail.recent]) == (4, [1, 3])
        six = batches_of(6, 1)[0]
        assert not tail.extend([[six]], keep_lines=100)  # line 5 is missing
        assert (tail.end, [b.first_sequence for b in tail.recent]) == (4, [1, 3])
        assert tail.extend([[three]], keep_lines=100)
        assert tail.end == 6

    run(main)


async def follow_into(followers: LogFollowers, got: list[int], after: int = 0) -> None:
    """Follows eval-1, adding each line's sequence to `got` as it comes."""
    async for batches in followers.follow("eval-1", after):
        for batch in batches:
            got.extend(line.sequence for line in batch.lines)


class Gate:
    """An offload whose database work waits while the gate is shut."""

    def __init__(self) -> None:
        self.opened = asyncio.Event()
        self.opened.set()

    async def offload(self, fn: Callable[..., T], *args: Any) -> T:
        await self.opened.wait()
        return fn(*args)


def test_follow_gives_this_process_appends_to_followers_as_they_are_announced() -> None:
    async def main() -> None:
        hub = ChangeHub()
        log = MemoryLog(hub)
        followers = LogFollowers(log, hub, offload, poll_seconds=60)
        got: list[int] = []
        task = asyncio.create_task(follow_into(followers, got))
        await settle()
        log.append(2, announce=True)
        await settle()
        assert got == [1, 2]  # at once: not at the next poll or change
        log.append(1, announce=True)
        await settle()
        assert got == [1, 2, 3]
        log.finish()
        await task

    run(main)


def test_announced_lines_before_a_gap_reach_followers_while_the_gap_is_read() -> None:
    async def main() -> None:
        hub = ChangeHub()
        log = MemoryLog(hub)
        gate = Gate()
        followers = LogFollowers(log, hub, gate.offload, poll_seconds=60)
        got: list[int] = []
        task = asyncio.create_task(follow_into(followers, got))
        await settle()
        gate.opened.clear()  # the database is slow from now on
        log.append(2, announce=True)  # 1-2: continues the tail
        log.hub, hub_of_the_tail = ChangeHub(), log.hub
        log.append(2)  # 3-4: its wake-up is lost
        log.hub = hub_of_the_tail
        log.append(2, announce=True)  # 5-6: a gap, so the tail reads 3-6
        await settle()
        assert got == [1, 2]  # without waiting for that read
        gate.opened.set()
        await settle()
        assert got == [1, 2, 3, 4, 5, 6]
        log.finish()
        await task

    run(main)


def test_follow_gets_every_line_of_a_wake_up_that_brings_more_than_one_read() -> None:
    async def main() -> None:
        hub = ChangeHub()
        log = MemoryLog(hub, read_lines=4)
        followers = LogFollowers(log, hub, offload, poll_seconds=60)
        got: list[int] = []
        task = asyncio.create_task(follow_into(followers, got))
        await settle()
        log.hub, hub_of_the_tail = ChangeHub(), log.hub
        for _ in range(3):
            log.append(3)  # wake-ups lost
        log.hub = hub_of_the_tail
        log.append(3)  # one wake-up for 12 lines: three reads of at most 4
        await settle()
        assert got == list(range(1, 13))
        log.finish()
        await task

    run(main)


def test_a_follower_after_a_failed_tail_reads_afresh_while_an_earlier_one_still_holds_it() -> None:
    """A follower whose client has not taken its next message yet stays on a tail that
    failed; a follower that comes once the database is back must not get that error."""

    async def main() -> None:
        hub = ChangeHub()
        log = MemoryLog(hub)
        log.append(2)
        followers = LogFollowers(log, hub, offload, poll_seconds=60)
        slow = followers.follow("eval-1", 0)
        assert [b.first_sequence for b in await anext(slow)] == [1]
        await settle()
        log.failure = Unavailable("the database is unavailable")
        log.append(1)  # the tail's read fails
        await settle()
        assert followers.followed == 0  # not followed any more: nothing reads for it
        log.failure = None  # the database is back
        log.finish()
        assert await collect(followers, "eval-1") == [1, 2, 3]
        with pytest.raises(Unavailable):  # the earlier follower ends with its tail
            await anext(slow)

    run(main)
