"""When and how often a broken stream reopens; shared by the sync and asyncio streams.

Only UNAVAILABLE is worth a reconnect: a dropped connection, or a server that ends its
streams with UNAVAILABLE (reason SERVER_SHUTTING_DOWN) while it drains. Every other
status is an answer, and becomes its typed error at once.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Generic, TypeVar

import grpc

from ledger_client.errors import DeadlineExceeded, from_rpc_error, status_code

CursorT = TypeVar("CursorT")


@dataclass(frozen=True)
class ReconnectPolicy:
    """How a resumable stream reopens after UNAVAILABLE.

    The stream gives up with `Unavailable` after `max_reconnects` reopens in a row that
    each failed before delivering a message; a delivered message resets the count, so
    a follower survives any number of server restarts as long as each one recovers.
    The wait before the n-th reopen in a row is `initial_backoff * multiplier**(n-1)`,
    at most `max_backoff`, spread by +-`jitter` so that the followers of a draining
    server do not all return at the same instant. The defaults keep trying for about
    half a minute, long enough for a server restart.
    """

    max_reconnects: int = 8
    initial_backoff: float = 0.25
    max_backoff: float = 8.0
    multiplier: float = 2.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.max_reconnects < 0:
            raise ValueError(f"max_reconnects must be >= 0, got {self.max_reconnects}")
        if not 0 <= self.initial_backoff <= self.max_backoff:
            raise ValueError("backoffs must satisfy 0 <= initial_backoff <= max_backoff")
        if self.multiplier < 1 or not 0 <= self.jitter < 1:
            raise ValueError("multiplier must be >= 1 and jitter in [0, 1)")

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before the `attempt`-th reopen in a row (1 for the first)."""
        base = min(self.max_backoff, self.initial_backoff * self.multiplier ** (attempt - 1))
        return base * random.uniform(1 - self.jitter, 1 + self.jitter)


class Reconnects(Generic[CursorT]):
    """One stream's position, its failures in a row, and its overall deadline.

    The deadline covers the whole stream, reopens included: a caller that asked for
    30 seconds gets 30 seconds, not 30 per reconnect.
    """

    def __init__(self, start: CursorT, policy: ReconnectPolicy, timeout: float | None) -> None:
        self.cursor = start
        self._policy = policy
        self._failures = 0
        self._deadline = None if timeout is None else time.monotonic() + timeout

    def remaining(self) -> float | None:
        """The timeout for the next open: what is left of the deadline, or None."""
        if self._deadline is None:
            return None
        return max(self._deadline - time.monotonic(), 0.0)

    def delivered(self, cursor: CursorT) -> None:
        self.cursor = cursor
        self._failures = 0

    def failed(self, err: grpc.RpcError) -> float:
        """Seconds to wait before reopening; raises the typed error when it is over."""
        if status_code(err) is not grpc.StatusCode.UNAVAILABLE:
            raise from_rpc_error(err) from err
        self._failures += 1
        if self._failures > self._policy.max_reconnects:
            raise from_rpc_error(err) from err
        delay = self._policy.backoff(self._failures)
        remaining = self.remaining()
        if remaining is not None and delay >= remaining:
            raise DeadlineExceeded(
                "the deadline passed while reconnecting a stream broken by "
                f"UNAVAILABLE: {from_rpc_error(err).message}",
                code=grpc.StatusCode.DEADLINE_EXCEEDED,
            ) from err
        return delay
